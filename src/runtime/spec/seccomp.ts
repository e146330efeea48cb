import { promises as fsp } from 'node:fs';
import { release } from 'node:os';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import { invalidArgument } from '../../common/index.js';
import type {
  OciSeccomp,
  OciSeccompArg,
  OciSeccompSyscall,
  SeccompAction,
} from '../../oci/index.js';

/** A syscall rule in Docker's profile format: OCI fields plus includes/excludes filters. */
export interface DockerSeccompRule {
  name?: string;
  names?: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: OciSeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface SeccompFilter {
  /** Go-style architecture names: amd64, x86, x32, arm64, arm, s390x... */
  arches?: string[];
  /** All must be in the bounding set (includes) / any in it drops the rule (excludes). */
  caps?: string[];
  minKernel?: string;
}

/** Docker's seccomp profile JSON (moby profiles/seccomp), as the docker CLI sends it. */
export interface DockerSeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }>;
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSeccompRule[];
}

/** Go architecture name → libseccomp name of the native architecture. */
const NATIVE_SECCOMP_ARCH: Record<string, string> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390x: 'SCMP_ARCH_S390X',
};

/** Node's process.arch → Docker's (Go) architecture name. */
export function goArch(nodeArch: string = process.arch): string {
  return (
    ({ x64: 'amd64', ia32: 'x86', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[
      nodeArch
    ] ?? nodeArch
  );
}

export interface SeccompContext {
  /** The container's bounding set: capability-conditional rules are resolved against it. */
  capabilities: readonly string[];
  /** Go architecture name; default from process.arch. */
  arch?: string;
  /** Kernel release such as "6.1.0-13-amd64"; default os.release(). */
  kernel?: string;
  /**
   * Sub-architectures the running kernel cannot execute (kernelMissingArches()): left out of
   * the filter, since no syscall of theirs can reach it. Each one costs runc ~6 ms to compile.
   */
  missingArches?: readonly string[];
}

/**
 * Turn a Docker-format profile into the OCI `linux.seccomp` section as Docker does: pick the
 * native architecture and its sub-architectures from archMap, then keep each rule whose
 * includes all hold and whose excludes do not.
 */
export function seccompFromProfile(
  profile: DockerSeccompProfile,
  ctx: SeccompContext,
): OciSeccomp | undefined {
  if (!profile.defaultAction && (profile.syscalls ?? []).length === 0) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidArgument(
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }
  const arch = ctx.arch ?? goArch();
  const kernel = ctx.kernel ?? release();
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const architectures = [...(profile.architectures ?? [])];
  const native = NATIVE_SECCOMP_ARCH[arch];
  const entry = profile.archMap?.find((a) => a.architecture === native);
  if (entry) {
    const subs = (entry.subArchitectures ?? []).filter((a) => !ctx.missingArches?.includes(a));
    architectures.push(entry.architecture, ...subs);
  }
  if (architectures.length) out.architectures = architectures;
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;

  const syscalls: OciSeccompSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (rule.name && rule.names?.length) {
      throw invalidArgument(
        "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'",
      );
    }
    if (!ruleApplies(rule, ctx.capabilities, arch, kernel)) continue;
    const sc: OciSeccompSyscall = {
      names: rule.name ? [rule.name] : [...(rule.names ?? [])],
      action: rule.action,
    };
    if (rule.errnoRet !== undefined) sc.errnoRet = rule.errnoRet;
    if (rule.args?.length) sc.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(sc);
  }
  out.syscalls = syscalls;
  return out;
}

function ruleApplies(
  rule: DockerSeccompRule,
  caps: readonly string[],
  arch: string,
  kernel: string,
): boolean {
  const ex = rule.excludes;
  if (ex) {
    if (ex.arches?.includes(arch)) return false;
    if (ex.caps?.some((c) => caps.includes(c))) return false;
    if (ex.minKernel && kernelAtLeast(kernel, ex.minKernel)) return false;
  }
  const inc = rule.includes;
  if (inc) {
    if (inc.arches?.length && !inc.arches.includes(arch)) return false;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) return false;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  }
  return true;
}

/** Compare "major.minor" of a kernel release with a "major.minor" minimum. */
export function kernelAtLeast(kernelRelease: string, min: string): boolean {
  const parse = (v: string): [number, number] => {
    const m = /^(\d+)\.(\d+)/.exec(v);
    if (!m) throw invalidArgument(`invalid kernel version: ${JSON.stringify(v)}`);
    return [Number(m[1]), Number(m[2])];
  };
  const [kMaj, kMin] = parse(kernelRelease);
  const [mMaj, mMin] = parse(min);
  return kMaj > mMaj || (kMaj === mMaj && kMin >= mMin);
}

/** Parse the profile text the docker CLI sends for `--security-opt seccomp=<file>`. */
export function parseSeccompProfile(text: string): DockerSeccompProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`Decoding seccomp profile failed: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidArgument('Decoding seccomp profile failed: not a JSON object');
  }
  const p = parsed as DockerSeccompProfile;
  if (p.syscalls !== undefined && p.syscalls !== null && !Array.isArray(p.syscalls)) {
    throw invalidArgument("Decoding seccomp profile failed: 'syscalls' must be an array");
  }
  return p;
}

/** What HostConfig.SecurityOpt asks for. */
export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** 'default' (Docker's profile), 'unconfined', or a custom profile. */
  seccomp: 'default' | 'unconfined' | DockerSeccompProfile;
  /** AppArmor profile name; recorded, not applied (no AppArmor on these hosts). */
  apparmor?: string;
  /** SELinux label options (label=disable, label=type:...); recorded, not applied. */
  label: string[];
  writableCgroups?: boolean;
}

function parseBool(v: string, opt: string): boolean {
  // Go's strconv.ParseBool spellings.
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
}

/**
 * Parse HostConfig.SecurityOpt as dockerd does. `seccomp=` carries the profile's JSON text
 * (the CLI reads the file), or "unconfined"/"builtin". Errors use Docker's messages.
 */
export function parseSecurityOpt(opts: readonly string[] | null | undefined): SecurityOptions {
  const res: SecurityOptions = { noNewPrivileges: false, seccomp: 'default', label: [] };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      res.noNewPrivileges = true;
      continue;
    }
    if (opt === 'writable-cgroups') {
      res.writableCgroups = true;
      continue;
    }
    if (opt === 'disable') {
      res.label.push('disable');
      continue;
    }
    // '=' is the separator; ':' is Docker's deprecated spelling and still accepted.
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalidArgument(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const i = opt.indexOf(sep);
    const key = opt.slice(0, i);
    const value = opt.slice(i + 1);
    switch (key) {
      case 'label':
        res.label.push(value);
        break;
      case 'apparmor':
        res.apparmor = value;
        break;
      case 'seccomp':
        if (value === 'unconfined') res.seccomp = 'unconfined';
        else if (value === 'builtin' || value === '') res.seccomp = 'default';
        else res.seccomp = parseSeccompProfile(value);
        break;
      case 'no-new-privileges':
        res.noNewPrivileges = parseBool(value, opt);
        break;
      case 'writable-cgroups':
        res.writableCgroups = parseBool(value, opt);
        break;
      default:
        throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return res;
}

/**
 * Seccomp sub-architectures this kernel was built without, read from its build config
 * (/proc/config.gz, else /boot/config-<release>): on x86_64, SCMP_ARCH_X32 without
 * CONFIG_X86_X32_ABI and SCMP_ARCH_X86 without CONFIG_IA32_EMULATION. Such syscalls are
 * rejected by the kernel's entry code before any filter runs, so leaving their rules out
 * changes nothing a process can do. Empty when the config cannot be read (keep everything).
 */
export async function kernelMissingArches(): Promise<string[]> {
  if (process.arch !== 'x64') return [];
  let config: string;
  try {
    config = (await promisify(gunzip)(await fsp.readFile('/proc/config.gz'))).toString();
  } catch {
    try {
      config = await fsp.readFile(`/boot/config-${release()}`, 'utf8');
    } catch {
      return [];
    }
  }
  return missingArchesFromConfig(config);
}

/** The pure part of kernelMissingArches: a kernel .config's text → missing sub-arches. */
export function missingArchesFromConfig(config: string): string[] {
  const enabled = (opt: string): boolean => new RegExp(`^${opt}=y$`, 'm').test(config);
  if (!/^CONFIG_X86_64=y$/m.test(config)) return [];
  const missing: string[] = [];
  if (!enabled('CONFIG_IA32_EMULATION')) missing.push('SCMP_ARCH_X86');
  if (!enabled('CONFIG_X86_X32_ABI')) missing.push('SCMP_ARCH_X32');
  return missing;
}
