/**
 * `run` / `create` flags → the POST /containers/create body, as docker's parse.go does.
 * Pure: files (--env-file, --label-file, seccomp profiles) and the environment come in
 * through `RunInputs`, so every mapping is unit-tested.
 */
import { posix } from 'node:path';

import type {
  ContainerCreateRequest,
  DeviceMapping,
  HostConfig,
  RestartPolicy,
  ThrottleDevice,
  Ulimit,
} from '../api-types/index.js';
import { FlagError, type FlagValues } from './flags.js';
import { parseMountOpt } from './mount-opts.js';
import { parseCpus, parseDuration, ramInBytes } from './units.js';

export interface RunInputs {
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
  /** For `-v ./dir:/x`: relative host paths are made absolute against it (docker's CLI). */
  cwd?: string;
}

/**
 * `-v` values: those with a source go to HostConfig.Binds (a host part starting with "."
 * made absolute, as docker's CLI does), a bare path to Config.Volumes (an anonymous volume).
 */
export function splitVolumeFlags(
  list: readonly string[],
  cwd: string | undefined,
): { binds: string[]; volumes: Record<string, object> } {
  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of list) {
    const i = v.indexOf(':');
    if (i < 0 || validModeOnly(v.slice(i + 1))) {
      volumes[v] = {};
      continue;
    }
    const host = v.slice(0, i);
    binds.push(cwd && host.startsWith('.') ? `${posix.resolve(cwd, host)}${v.slice(i)}` : v);
  }
  return { binds, volumes };
}

/** `/data:ro` names no source: docker keeps it as a volume spec (the daemon rejects it). */
function validModeOnly(rest: string): boolean {
  return /^(ro|rw|z|Z|nocopy|r?private|r?shared|r?slave|consistent|cached|delegated)(,(ro|rw|z|Z|nocopy|r?private|r?shared|r?slave|consistent|cached|delegated))*$/.test(
    rest,
  );
}

export interface CreatePlan {
  body: ContainerCreateRequest;
  name: string | undefined;
  platform: string | undefined;
  image: string;
}

function invalid(value: string, flag: string, why: string): FlagError {
  return new FlagError(`invalid argument "${value}" for "${flag}" flag: ${why}`);
}

function bytesFlag(f: FlagValues, name: string, label: string): number | undefined {
  if (!f.changed(name)) return undefined;
  const v = f.str(name);
  try {
    return ramInBytes(v);
  } catch (err) {
    throw invalid(v, label, (err as Error).message);
  }
}

/** docker's ValidateEnv: a bare `NAME` takes its value from the client's environment. */
export function expandEnv(entry: string, env: NodeJS.ProcessEnv): string {
  if (entry.includes('=')) {
    if (entry.startsWith('=')) throw new FlagError(`invalid environment variable: ${entry}`);
    return entry;
  }
  const v = env[entry];
  return v === undefined ? entry : `${entry}=${v}`;
}

/** Lines of an env or label file: comments and blanks skipped, bare names looked up. */
export function parseKeyValueFile(
  content: string,
  file: string,
  lookup: ((k: string) => string | undefined) | undefined,
): string[] {
  const out: string[] = [];
  content.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '' || /\s/.test(key)) {
      throw new FlagError(`variable '${key}' contains whitespaces (${file} line ${i + 1})`);
    }
    if (eq >= 0) out.push(line);
    else if (lookup) {
      const v = lookup(line.trimEnd());
      if (v !== undefined) out.push(`${line.trimEnd()}=${v}`);
    } else out.push(line.trimEnd());
  });
  return out;
}

function keyValueMap(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq < 0) out[e] = '';
    else out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

export function parseRestartPolicy(v: string): RestartPolicy {
  if (v === '') return { Name: '' };
  const [name, count, ...extra] = v.split(':');
  if (extra.length > 0) throw invalid(v, '--restart', 'invalid restart policy format');
  switch (name) {
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (count !== undefined) {
        throw invalid(
          v,
          '--restart',
          `maximum retry count cannot be used with restart policy '${name}'`,
        );
      }
      return { Name: name };
    case 'on-failure': {
      if (count === undefined) return { Name: 'on-failure' };
      if (!/^\d+$/.test(count))
        throw invalid(v, '--restart', 'maximum retry count must be an integer');
      return { Name: 'on-failure', MaximumRetryCount: Number(count) };
    }
    default:
      throw invalid(v, '--restart', `invalid restart policy '${name}'`);
  }
}

const ULIMIT_NAMES = new Set([
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
]);

export function parseUlimit(v: string): Ulimit {
  const eq = v.indexOf('=');
  if (eq < 0) throw invalid(v, '--ulimit', `invalid ulimit argument: ${v}`);
  const name = v.slice(0, eq);
  if (!ULIMIT_NAMES.has(name)) throw invalid(v, '--ulimit', `invalid ulimit type: ${name}`);
  const parts = v.slice(eq + 1).split(':');
  if (parts.length > 2 || parts.some((p) => !/^-?\d+$/.test(p))) {
    throw invalid(
      v,
      '--ulimit',
      `too many limit value arguments - ${v.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``,
    );
  }
  const soft = Number(parts[0]);
  const hard = parts.length === 2 ? Number(parts[1]) : soft;
  if (soft > hard) {
    throw invalid(
      v,
      '--ulimit',
      `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`,
    );
  }
  return { Name: name, Soft: soft, Hard: hard };
}

export function parseThrottleBps(v: string, flag: string): ThrottleDevice {
  const i = v.lastIndexOf(':');
  if (i <= 0 || !v.startsWith('/dev/')) throw invalid(v, flag, `bad format: ${v}`);
  try {
    return { Path: v.slice(0, i), Rate: ramInBytes(v.slice(i + 1)) };
  } catch {
    throw invalid(
      v,
      flag,
      `invalid rate for device: ${v}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`,
    );
  }
}

export function parseThrottleIops(v: string, flag: string): ThrottleDevice {
  const i = v.lastIndexOf(':');
  if (i <= 0 || !v.startsWith('/dev/') || !/^\d+$/.test(v.slice(i + 1))) {
    throw invalid(
      v,
      flag,
      `invalid rate for device: ${v}. The correct format is <device-path>:<number>. Number must be a positive integer`,
    );
  }
  return { Path: v.slice(0, i), Rate: Number(v.slice(i + 1)) };
}

export function parseDevice(v: string): DeviceMapping {
  const parts = v.split(':');
  const isPerm = (s: string): boolean => s !== '' && /^[rwm]+$/.test(s);
  let src = parts[0] as string;
  let dst = src;
  let perm = 'rwm';
  if (parts.length === 3) {
    dst = parts[1] as string;
    if (!isPerm(parts[2] as string))
      throw invalid(v, '--device', `invalid device mode: ${parts[2]}`);
    perm = parts[2] as string;
  } else if (parts.length === 2) {
    if (isPerm(parts[1] as string)) perm = parts[1] as string;
    else dst = parts[1] as string;
  } else if (parts.length > 3) {
    throw invalid(v, '--device', `invalid device specification: ${v}`);
  }
  if (src === '') throw invalid(v, '--device', `invalid device specification: ${v}`);
  src = src.trim();
  return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: perm };
}

function splitPortProto(s: string): [string, string] {
  const i = s.lastIndexOf('/');
  return i < 0 ? [s, 'tcp'] : [s.slice(0, i), s.slice(i + 1)];
}

function portRange(s: string, value: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw invalid(value, '-p, --publish', `invalid containerPort: ${s}`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (b < a)
    throw invalid(value, '-p, --publish', `invalid range specified for containerPort: ${s}`);
  return [a, b];
}

/** `-p [ip:][hostPort:]containerPort[/proto]`, ranges and `[::1]:` IPv6 hosts included. */
export function parsePublish(
  value: string,
  exposed: Record<string, object>,
  bindings: Record<string, Array<{ HostIp: string; HostPort: string }>>,
): void {
  const [spec, proto] = splitPortProto(value);
  let ip = '';
  let rest = spec;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (v6) {
    ip = v6[1] as string;
    rest = v6[2] as string;
  }
  const parts = rest.split(':');
  let hostPart = '';
  let ctrPart: string;
  if (v6) {
    if (parts.length !== 2) throw invalid(value, '-p, --publish', `invalid proto: ${value}`);
    [hostPart, ctrPart] = parts as [string, string];
  } else if (parts.length === 1) ctrPart = parts[0] as string;
  else if (parts.length === 2) [hostPart, ctrPart] = parts as [string, string];
  else if (parts.length === 3) [ip, hostPart, ctrPart] = parts as [string, string, string];
  else throw invalid(value, '-p, --publish', `invalid port specification: "${value}"`);
  if (ctrPart === '') throw invalid(value, '-p, --publish', `no port specified: ${value}<empty>`);
  const [c0, c1] = portRange(ctrPart, value);
  let h0 = 0;
  let h1 = 0;
  if (hostPart !== '') [h0, h1] = portRange(hostPart, value);
  const n = c1 - c0 + 1;
  if (hostPart !== '' && h1 - h0 + 1 !== n && n !== 1) {
    throw invalid(
      value,
      '-p, --publish',
      `invalid ranges specified for container and host Ports: ${ctrPart} and ${hostPart}`,
    );
  }
  for (let i = 0; i < n; i++) {
    const key = `${c0 + i}/${proto}`;
    exposed[key] = {};
    let hostPort = '';
    if (hostPart !== '') hostPort = n === 1 && h1 !== h0 ? `${h0}-${h1}` : String(h0 + i);
    (bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
  }
}

function parseExpose(value: string, exposed: Record<string, object>): void {
  const [spec, proto] = splitPortProto(value);
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw invalid(value, '--expose', `invalid range format for --expose: ${value}`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  for (let p = a; p <= b; p++) exposed[`${p}/${proto}`] = {};
}

function parseSecurityOpts(opts: readonly string[], readFile: RunInputs['readFile']): string[] {
  return opts.map((opt) => {
    if (opt === 'systempaths=unconfined' || opt === 'no-new-privileges') return opt;
    let sep = opt.indexOf('=');
    if (sep < 0) sep = opt.indexOf(':');
    if (sep < 0) throw invalid(opt, '--security-opt', `Invalid --security-opt: "${opt}"`);
    const key = opt.slice(0, sep);
    const val = opt.slice(sep + 1);
    if (key === 'seccomp' && val !== 'unconfined' && val !== 'builtin') {
      let profile: string;
      try {
        profile = readFile(val);
      } catch (err) {
        throw invalid(
          opt,
          '--security-opt',
          `opening seccomp profile (${val}) failed: ${(err as Error).message}`,
        );
      }
      return `seccomp=${JSON.stringify(JSON.parse(profile))}`;
    }
    return `${key}=${val}`;
  });
}

function durationFlag(f: FlagValues, name: string): number | undefined {
  if (!f.changed(name)) return undefined;
  try {
    return parseDuration(f.str(name));
  } catch (err) {
    throw invalid(f.str(name), `--${name}`, (err as Error).message);
  }
}

/** docker's "default" network mode means the daemon's default bridge. */
const DEFAULT_NETWORK = 'default';

export function runOptionsToCreateBody(
  f: FlagValues,
  args: readonly string[],
  inputs: RunInputs,
  opts: { detach: boolean } = { detach: false },
): CreatePlan {
  const image = args[0] as string;
  const cmd = args.slice(1);

  // Environment: --env-file first, then -e (later wins in the daemon).
  const env: string[] = [];
  for (const file of f.list('env-file')) {
    env.push(
      ...parseKeyValueFile(readOrThrow(inputs, file, '--env-file'), file, (k) => inputs.env[k]),
    );
  }
  for (const e of f.list('env')) env.push(expandEnv(e, inputs.env));

  const labels: string[] = [];
  for (const file of f.list('label-file')) {
    labels.push(...parseKeyValueFile(readOrThrow(inputs, file, '--label-file'), file, undefined));
  }
  labels.push(...f.list('label'));

  const attach = f.list('attach').map((a) => a.toLowerCase());
  for (const a of attach) {
    if (!['stdin', 'stdout', 'stderr'].includes(a)) {
      throw invalid(a, '-a, --attach', 'valid streams are STDIN, STDOUT and STDERR');
    }
  }
  const interactive = f.bool('interactive');
  let attachStdin = attach.includes('stdin') || interactive;
  let attachStdout = attach.length === 0 || attach.includes('stdout');
  let attachStderr = attach.length === 0 || attach.includes('stderr');
  let stdinOnce = false;
  if (opts.detach) {
    if (attach.length > 0) throw new FlagError('Conflicting options: -a and -d');
    attachStdin = false;
    attachStdout = false;
    attachStderr = false;
  } else if (interactive && attachStdin) {
    stdinOnce = true;
  }

  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of f.list('publish')) parsePublish(p, exposed, bindings);
  for (const e of f.list('expose')) parseExpose(e, exposed);

  const { binds, volumes } = splitVolumeFlags(f.list('volume'), inputs.cwd);
  const mounts = f.list('mount').map((v) => {
    try {
      return parseMountOpt(v);
    } catch (err) {
      throw invalid(v, '--mount', (err as Error).message);
    }
  });

  const tmpfs: Record<string, string> = {};
  for (const t of f.list('tmpfs')) {
    const i = t.indexOf(':');
    if (i < 0) tmpfs[t] = '';
    else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }

  const restart = parseRestartPolicy(f.str('restart'));
  const autoRemove = f.bool('rm');
  if (autoRemove && restart.Name !== '' && restart.Name !== 'no') {
    throw new FlagError('Conflicting options: --restart and --rm');
  }

  let nanoCpus: number | undefined;
  if (f.changed('cpus')) {
    try {
      nanoCpus = parseCpus(f.str('cpus'));
    } catch (err) {
      throw invalid(f.str('cpus'), '--cpus', (err as Error).message);
    }
  }

  let memorySwap: number | undefined;
  if (f.changed('memory-swap')) {
    memorySwap = f.str('memory-swap') === '-1' ? -1 : bytesFlag(f, 'memory-swap', '--memory-swap');
  }

  const network = f.str('network') || f.str('net') || DEFAULT_NETWORK;

  const hostConfig: HostConfig = {
    Binds: binds.length > 0 ? binds : null,
    ...(mounts.length > 0 ? { Mounts: mounts } : {}),
    ...(f.str('volume-driver') ? { VolumeDriver: f.str('volume-driver') } : {}),
    ContainerIDFile: f.str('cidfile'),
    LogConfig: { Type: f.str('log-driver'), Config: keyValueMap(f.list('log-opt')) },
    NetworkMode: network,
    PortBindings: bindings,
    RestartPolicy: restart,
    AutoRemove: autoRemove,
    VolumesFrom: f.list('volumes-from').length > 0 ? f.list('volumes-from') : null,
    CapAdd: f.list('cap-add').length > 0 ? f.list('cap-add') : null,
    CapDrop: f.list('cap-drop').length > 0 ? f.list('cap-drop') : null,
    CgroupnsMode: f.str('cgroupns') as HostConfig['CgroupnsMode'],
    Dns: f.list('dns'),
    DnsOptions: f.list('dns-option'),
    DnsSearch: f.list('dns-search'),
    ExtraHosts: f.list('add-host').length > 0 ? f.list('add-host') : null,
    GroupAdd: f.list('group-add').length > 0 ? f.list('group-add') : null,
    IpcMode: f.str('ipc'),
    OomScoreAdj: f.int('oom-score-adj'),
    PidMode: f.str('pid'),
    Privileged: f.bool('privileged'),
    PublishAllPorts: f.bool('publish-all'),
    ReadonlyRootfs: f.bool('read-only'),
    SecurityOpt:
      f.list('security-opt').length > 0
        ? parseSecurityOpts(f.list('security-opt'), inputs.readFile)
        : null,
    StorageOpt: f.list('storage-opt').length > 0 ? keyValueMap(f.list('storage-opt')) : null,
    Tmpfs: Object.keys(tmpfs).length > 0 ? tmpfs : null,
    UTSMode: f.str('uts'),
    UsernsMode: f.str('userns'),
    ShmSize: bytesFlag(f, 'shm-size', '--shm-size') ?? 0,
    Sysctls: f.list('sysctl').length > 0 ? keyValueMap(f.list('sysctl')) : null,
    Runtime: f.str('runtime'),
    CpuShares: f.int('cpu-shares'),
    Memory: bytesFlag(f, 'memory', '-m, --memory') ?? 0,
    NanoCpus: nanoCpus ?? 0,
    CgroupParent: f.str('cgroup-parent'),
    BlkioDeviceReadBps: f
      .list('device-read-bps')
      .map((v) => parseThrottleBps(v, '--device-read-bps')),
    BlkioDeviceWriteBps: f
      .list('device-write-bps')
      .map((v) => parseThrottleBps(v, '--device-write-bps')),
    BlkioDeviceReadIOps: f
      .list('device-read-iops')
      .map((v) => parseThrottleIops(v, '--device-read-iops')),
    BlkioDeviceWriteIOps: f
      .list('device-write-iops')
      .map((v) => parseThrottleIops(v, '--device-write-iops')),
    CpuPeriod: f.int('cpu-period'),
    CpuQuota: f.int('cpu-quota'),
    CpusetCpus: f.str('cpuset-cpus'),
    CpusetMems: f.str('cpuset-mems'),
    Devices: f.list('device').map(parseDevice),
    DeviceCgroupRules:
      f.list('device-cgroup-rule').length > 0 ? f.list('device-cgroup-rule') : null,
    MemoryReservation: bytesFlag(f, 'memory-reservation', '--memory-reservation') ?? 0,
    MemorySwap: memorySwap ?? 0,
    MemorySwappiness: f.int('memory-swappiness') === -1 ? null : f.int('memory-swappiness'),
    OomKillDisable: f.changed('oom-kill-disable') ? f.bool('oom-kill-disable') : null,
    PidsLimit: f.changed('pids-limit') ? f.int('pids-limit') : null,
    Ulimits: f.list('ulimit').length > 0 ? f.list('ulimit').map(parseUlimit) : null,
    Init: f.changed('init') ? f.bool('init') : null,
    Annotations: f.list('annotation').length > 0 ? keyValueMap(f.list('annotation')) : null,
  };

  let entrypoint: string[] | undefined;
  if (f.str('entrypoint') !== '') entrypoint = [f.str('entrypoint')];
  else if (f.changed('entrypoint')) entrypoint = [''];

  const healthcheck = buildHealthcheck(f);

  const body: ContainerCreateRequest = {
    Hostname: f.str('hostname'),
    Domainname: f.str('domainname'),
    User: f.str('user'),
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: Object.keys(exposed).length > 0 ? exposed : undefined,
    Tty: f.bool('tty'),
    OpenStdin: interactive,
    StdinOnce: stdinOnce,
    Env: env,
    Cmd: cmd.length > 0 ? cmd : null,
    Healthcheck: healthcheck,
    Image: image,
    Volumes: Object.keys(volumes).length > 0 ? volumes : undefined,
    WorkingDir: f.str('workdir'),
    Entrypoint: entrypoint ?? null,
    MacAddress: f.str('mac-address') || undefined,
    Labels: keyValueMap(labels),
    StopSignal: f.str('stop-signal') || undefined,
    StopTimeout: f.changed('stop-timeout') ? f.int('stop-timeout') : undefined,
    HostConfig: hostConfig,
    NetworkingConfig: buildNetworking(network, f.list('network-alias'), f.str('ip'), f.str('ip6')),
  };
  return {
    body,
    name: f.str('name') || undefined,
    platform: f.str('platform') || undefined,
    image,
  };
}

function buildHealthcheck(f: FlagValues): ContainerCreateRequest['Healthcheck'] {
  if (f.bool('no-healthcheck')) {
    const conflicting = [
      'health-cmd',
      'health-interval',
      'health-timeout',
      'health-retries',
      'health-start-period',
    ];
    if (conflicting.some((n) => f.changed(n))) {
      throw new FlagError('--no-healthcheck conflicts with --health-* options');
    }
    return { Test: ['NONE'] };
  }
  const any = [
    'health-cmd',
    'health-interval',
    'health-timeout',
    'health-retries',
    'health-start-period',
  ].some((n) => f.changed(n));
  if (!any) return undefined;
  return {
    Test: f.str('health-cmd') ? ['CMD-SHELL', f.str('health-cmd')] : undefined,
    Interval: durationFlag(f, 'health-interval') ?? 0,
    Timeout: durationFlag(f, 'health-timeout') ?? 0,
    StartPeriod: durationFlag(f, 'health-start-period') ?? 0,
    Retries: f.int('health-retries'),
  };
}

function buildNetworking(
  network: string,
  aliases: readonly string[],
  ip = '',
  ip6 = '',
): ContainerCreateRequest['NetworkingConfig'] {
  const builtin =
    ['default', 'bridge', 'host', 'none'].includes(network) || network.startsWith('container:');
  if (builtin && aliases.length === 0 && !ip && !ip6) return { EndpointsConfig: {} };
  return {
    EndpointsConfig: {
      [network]: {
        ...(aliases.length > 0 ? { Aliases: aliases } : {}),
        ...(ip || ip6
          ? {
              IPAMConfig: {
                ...(ip ? { IPv4Address: ip } : {}),
                ...(ip6 ? { IPv6Address: ip6 } : {}),
              },
            }
          : {}),
      },
    },
  };
}

function readOrThrow(inputs: RunInputs, file: string, flag: string): string {
  try {
    return inputs.readFile(file);
  } catch (err) {
    throw invalid(
      file,
      flag,
      `open ${file}: ${(err as { code?: string }).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
}
