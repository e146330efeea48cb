import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { invalidArgument, writeFileAtomic } from '../../common/index.js';
import type { ContainerConfig, HostConfig } from '../../api-types/index.js';
import {
  OCI_RUNTIME_SPEC_VERSION,
  type OciLinux,
  type OciMount,
  type OciNamespace,
  type OciProcess,
  type OciSpec,
} from '../../oci/index.js';

import { tweakCapabilities } from './capabilities.js';
import {
  defaultDeviceRules,
  devicesFromMapping,
  hostDevices,
  parseDeviceCgroupRule,
} from './devices.js';
import {
  DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE,
  defaultMounts,
  hostMaskedPaths,
  sortMounts,
  tmpfsMounts,
} from './mounts.js';
import { defaultNofile, resourcesFromHostConfig, rlimits } from './resources.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
import { parseSecurityOpt, seccompFromProfile } from './seccomp.js';

export interface SpecInput {
  id: string;
  /** Absolute path of the rootfs: mounted already, or an empty directory under rootMount. */
  rootfs: string;
  /**
   * The root filesystem as a mount for the runtime to make over `rootfs` inside the
   * container's mount namespace, before any other (nothing is mounted on the host then).
   */
  rootMount?: OciMount;
  /** Docker's Config (labels, StopSignal, Domainname...). */
  config: ContainerConfig;
  /** Docker's HostConfig: all resource and security fields. */
  hostConfig: HostConfig;
  /** Resolved process args (entrypoint + cmd), non-empty. */
  args: string[];
  /** Final env, already merged by the caller. */
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
  terminal: boolean;
  netns: { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };
  /** Host files bind-mounted at /etc/hostname, /etc/hosts, /etc/resolv.conf. */
  etcFiles?: { hostname: string; hosts: string; resolvConf: string };
  /** cgroupfs path such as "/wharf/<id>". */
  cgroupsPath: string;
  /** Host path of the init binary used when HostConfig.Init. */
  initPath?: string;
  /** Host capability bounding set (hostBoundingSet()), for privileged and CapAdd ALL. */
  hostBoundingSet: string[];
  /**
   * Namespaces to join for IpcMode/PidMode "container:<id>" (e.g. /proc/<pid>/ns/ipc); the
   * caller resolves the other container.
   */
  joinNamespaces?: { ipc?: string; pid?: string };
  /** Where the host's /dev/shm is, for IpcMode "host". */
  hostShmPath?: string;
  /**
   * Binds and volumes already in OCI form (from the volumes module). Like Docker's user
   * mounts they replace default mounts at the same destination and keep their own ro/rw.
   */
  mounts?: OciMount[];
  /** RLIMIT_NOFILE when Ulimits has none; default defaultNofile() (1048576 capped by ours). */
  defaultNofile?: number;
  /** Seccomp sub-architectures the kernel cannot run (kernelMissingArches()). */
  seccompMissingArches?: readonly string[];
}

/** Where Docker mounts the init binary inside the container. */
export const CONTAINER_INIT_PATH = '/sbin/docker-init';

/**
 * Build config.json for runc from a container's Docker configuration, as dockerd's
 * createSpec does: defaults, then namespaces, capabilities, seccomp, mounts, devices,
 * resources, rlimits, sysctls. Throws invalidArgument for configurations Docker rejects.
 */
export function buildSpec(input: SpecInput): OciSpec {
  const h = input.hostConfig;
  if (input.args.length === 0) throw invalidArgument('no command specified');
  const sec = parseSecurityOpt(h.SecurityOpt);
  const privileged = h.Privileged === true;

  const caps = tweakCapabilities({
    add: h.CapAdd,
    drop: h.CapDrop,
    privileged,
    hostBoundingSet: input.hostBoundingSet,
  });

  const namespaces = buildNamespaces(input);
  const pidPrivate = namespaces.some((n) => n.type === 'pid' && !n.path);
  const utsHost = h.UTSMode === 'host';

  const process: OciProcess = {
    terminal: input.terminal,
    user: {
      uid: input.user.uid,
      gid: input.user.gid,
      ...(input.user.additionalGids.length
        ? { additionalGids: [...input.user.additionalGids] }
        : {}),
    },
    args: [...input.args],
    env: [...input.env],
    cwd: input.cwd || '/',
    capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
    rlimits: rlimits(h.Ulimits, input.defaultNofile ?? defaultNofile()),
    noNewPrivileges: sec.noNewPrivileges,
    oomScoreAdj: h.OomScoreAdj ?? 0,
  };
  if (input.terminal && h.ConsoleSize && h.ConsoleSize[0] > 0 && h.ConsoleSize[1] > 0) {
    process.consoleSize = { height: h.ConsoleSize[0], width: h.ConsoleSize[1] };
  }

  const mounts = buildMounts(input, privileged);
  const useInit = h.Init === true && pidPrivate && input.initPath !== undefined;
  if (h.Init === true && pidPrivate && input.initPath === undefined) {
    throw invalidArgument(
      'docker-init binary not found in PATH: init was requested but no init binary is configured',
    );
  }
  if (useInit) {
    process.args = [CONTAINER_INIT_PATH, '--', ...process.args];
    mounts.push({
      destination: CONTAINER_INIT_PATH,
      type: 'bind',
      source: input.initPath,
      options: ['bind', 'ro'],
    });
  }

  const resources = resourcesFromHostConfig(h);
  const linux: OciLinux = {
    namespaces,
    devices: [],
    cgroupsPath: input.cgroupsPath,
    resources: { devices: defaultDeviceRules(), ...resources },
    sysctl: buildSysctls(input),
  };
  applyDevices(linux, h, privileged);
  const rootfsPropagation = rootfsPropagationFor(input.mounts ?? []);
  if (rootfsPropagation) linux.rootfsPropagation = rootfsPropagation;

  if (!privileged) {
    linux.maskedPaths = hostMaskedPaths();
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  }
  if (h.MaskedPaths) linux.maskedPaths = [...h.MaskedPaths];
  if (h.ReadonlyPaths) linux.readonlyPaths = [...h.ReadonlyPaths];

  // Docker: "unconfined" wins; privileged runs unconfined unless a profile is given.
  if (sec.seccomp !== 'unconfined' && !(privileged && sec.seccomp === 'default')) {
    const profile = sec.seccomp === 'default' ? DEFAULT_SECCOMP_PROFILE : sec.seccomp;
    const seccomp = seccompFromProfile(profile, {
      capabilities: caps,
      missingArches: input.seccompMissingArches,
    });
    if (seccomp) linux.seccomp = seccomp;
  }

  const spec: OciSpec = {
    ociVersion: OCI_RUNTIME_SPEC_VERSION,
    process,
    root: { path: input.rootfs, ...(h.ReadonlyRootfs ? { readonly: true } : {}) },
    hostname: utsHost ? '' : input.hostname,
    mounts: input.rootMount ? [input.rootMount, ...mounts] : mounts,
    linux,
  };
  if (h.Annotations && Object.keys(h.Annotations).length) spec.annotations = { ...h.Annotations };
  return spec;
}

function buildNamespaces(input: SpecInput): OciNamespace[] {
  const h = input.hostConfig;
  const ns: OciNamespace[] = [{ type: 'mount' }];
  if (input.netns.mode === 'new') ns.push({ type: 'network' });
  else if (input.netns.mode === 'path') ns.push({ type: 'network', path: input.netns.path });
  if (h.UTSMode !== 'host') {
    if (h.UTSMode && h.UTSMode !== '') throw invalidArgument(`invalid UTS mode: ${h.UTSMode}`);
    ns.push({ type: 'uts' });
  }
  const pid = h.PidMode ?? '';
  if (pid.startsWith('container:')) {
    if (!input.joinNamespaces?.pid) throw invalidArgument(`invalid PID mode: ${pid}`);
    ns.push({ type: 'pid', path: input.joinNamespaces.pid });
  } else if (pid !== 'host') {
    if (pid !== '') throw invalidArgument(`invalid PID mode: ${pid}`);
    ns.push({ type: 'pid' });
  }
  const ipc = h.IpcMode ?? '';
  if (ipc.startsWith('container:')) {
    if (!input.joinNamespaces?.ipc) throw invalidArgument(`invalid IPC mode: ${ipc}`);
    ns.push({ type: 'ipc', path: input.joinNamespaces.ipc });
  } else if (ipc !== 'host') {
    if (!['', 'private', 'shareable', 'none'].includes(ipc))
      throw invalidArgument(`invalid IPC mode: ${ipc}`);
    ns.push({ type: 'ipc' });
  }
  const cgroupns = h.CgroupnsMode ?? '';
  if (!['', 'private', 'host'].includes(cgroupns)) {
    throw invalidArgument(`invalid cgroup namespace mode: ${cgroupns}`);
  }
  if (cgroupns !== 'host') ns.push({ type: 'cgroup' });
  return ns;
}

function buildMounts(input: SpecInput, privileged: boolean): OciMount[] {
  const h = input.hostConfig;
  const sec = parseSecurityOpt(h.SecurityOpt);
  const user = [...(input.mounts ?? []).map((m) => ({ ...m })), ...tmpfsMounts(h.Tmpfs)];
  const userDests = new Set(user.map((m) => m.destination));
  const ipc = h.IpcMode ?? '';
  const mounts: OciMount[] = [];
  for (const m of defaultMounts()) {
    if (userDests.has(m.destination)) continue;
    if (userDests.has('/dev') && m.destination.startsWith('/dev/')) continue;
    mounts.push(m);
  }
  if (
    !userDests.has('/dev/shm') &&
    !userDests.has('/dev') &&
    ipc !== 'none' &&
    !ipc.startsWith('container:')
  ) {
    if (ipc === 'host') {
      mounts.push({
        destination: '/dev/shm',
        type: 'bind',
        source: input.hostShmPath ?? '/dev/shm',
        options: ['rbind', 'rprivate'],
      });
    } else {
      const size = h.ShmSize && h.ShmSize > 0 ? h.ShmSize : DEFAULT_SHM_SIZE;
      mounts.push({
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${size}`],
      });
    }
  }
  const writableCgroups = sec.writableCgroups ?? privileged;
  for (const m of mounts) {
    if (
      h.ReadonlyRootfs &&
      !['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev'].includes(m.destination)
    ) {
      if (!m.options?.includes('ro')) m.options = [...(m.options ?? []), 'ro'];
    }
    if ((privileged && m.destination === '/sys') || (writableCgroups && m.type === 'cgroup')) {
      m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
  }
  const extra: OciMount[] = [...user];
  if (input.etcFiles) {
    const opts = h.ReadonlyRootfs ? ['rbind', 'ro', 'rprivate'] : ['rbind', 'rprivate'];
    const files: Array<[string, string]> = [
      ['/etc/resolv.conf', input.etcFiles.resolvConf],
      ['/etc/hostname', input.etcFiles.hostname],
      ['/etc/hosts', input.etcFiles.hosts],
    ];
    for (const [dest, source] of files) {
      if (!userDests.has(dest))
        extra.push({ destination: dest, type: 'bind', source, options: [...opts] });
    }
  }
  return mounts.concat(sortMounts(extra));
}

/**
 * As dockerd: a bind mount with shared propagation needs a shared rootfs (and slave one a
 * slave rootfs) for events to cross into the container; private ones need nothing.
 */
export function rootfsPropagationFor(mounts: OciMount[]): string | undefined {
  const opts = new Set(mounts.flatMap((m) => (m.type === 'bind' ? (m.options ?? []) : [])));
  if (opts.has('shared') || opts.has('rshared')) return 'shared';
  if (opts.has('slave') || opts.has('rslave')) return 'rslave';
  return undefined;
}

function applyDevices(linux: OciLinux, h: HostConfig, privileged: boolean): void {
  const devices = linux.devices!;
  const resources = linux.resources!;
  if (privileged) {
    devices.push(...hostDevices());
    for (const m of h.Devices ?? []) {
      // Privileged containers see all of /dev already; only renamed devices add anything.
      if (m.PathOnHost === m.PathInContainer) continue;
      devices.push(...devicesFromMapping({ ...m, CgroupPermissions: 'rwm' }).devices);
    }
    resources.devices = [{ allow: true, access: 'rwm' }];
    return;
  }
  for (const m of h.Devices ?? []) {
    const { devices: d, rules } = devicesFromMapping(m);
    devices.push(...d);
    resources.devices!.push(...rules);
  }
  for (const rule of h.DeviceCgroupRules ?? [])
    resources.devices!.push(parseDeviceCgroupRule(rule));
}

function sysctlExists(name: string): boolean {
  return existsSync(join('/proc/sys', name.replaceAll('.', '/')));
}

function buildSysctls(input: SpecInput): Record<string, string> {
  const out: Record<string, string> = {};
  // Docker's defaults for a container with its own network namespace: unprivileged ping and
  // binding to ports below 1024 without CAP_NET_BIND_SERVICE.
  if (input.netns.mode !== 'host') {
    if (sysctlExists('net.ipv4.ping_group_range'))
      out['net.ipv4.ping_group_range'] = '0 2147483647';
    if (sysctlExists('net.ipv4.ip_unprivileged_port_start'))
      out['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  if (input.config.Domainname && input.hostConfig.UTSMode !== 'host') {
    out['kernel.domainname'] = input.config.Domainname;
  }
  Object.assign(out, input.hostConfig.Sysctls ?? {});
  return out;
}

const RLIM_INFINITY_MARK = '"__wharf_rlim_infinity__"';

/**
 * config.json text for a spec. Rlimit -1 ("unlimited") becomes RLIM_INFINITY (2^64-1), a
 * number JSON.stringify cannot print exactly.
 */
export function serializeSpec(spec: OciSpec): string {
  const text = JSON.stringify(spec, (key, value: unknown) =>
    (key === 'soft' || key === 'hard') && value === -1 ? JSON.parse(RLIM_INFINITY_MARK) : value,
  );
  return text.replaceAll(RLIM_INFINITY_MARK, '18446744073709551615');
}

/** Write <bundle>/config.json atomically. */
export async function writeSpec(bundle: string, spec: OciSpec): Promise<void> {
  await writeFileAtomic(join(bundle, 'config.json'), serializeSpec(spec), 0o600);
}

/** Synchronous variant for tools and tests. */
export function writeSpecSync(bundle: string, spec: OciSpec): void {
  writeFileSync(join(bundle, 'config.json'), serializeSpec(spec), { mode: 0o600 });
}
