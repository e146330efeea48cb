import { existsSync } from 'node:fs';
import { posix } from 'node:path';

import { invalidArgument } from '../../common/index.js';
import type { OciMount } from '../../oci/index.js';

/** Docker's default /dev/shm size: 64 MiB. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** The kernel files Docker hides from containers (bind-mounted over with /dev/null or tmpfs). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

/** The kernel trees Docker makes read-only in containers. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/**
 * Masked paths for this host: Docker's list plus each CPU's thermal_throttle directory that
 * exists (they leak host power state), as dockerd computes them at start.
 */
export function hostMaskedPaths(cpuCount = 1024): string[] {
  const paths = [...DEFAULT_MASKED_PATHS];
  for (let cpu = 0; cpu < cpuCount; cpu++) {
    const dir = `/sys/devices/system/cpu/cpu${cpu}`;
    if (!existsSync(dir)) break;
    const p = `${dir}/thermal_throttle`;
    if (existsSync(p)) paths.push(p);
  }
  return paths;
}

/** The mounts every container gets, in Docker's order (/dev/shm is added separately). */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', 'ro'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['ro', 'nosuid', 'noexec', 'nodev'],
    },
    {
      destination: '/dev/mqueue',
      type: 'mqueue',
      source: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev'],
    },
  ];
}

/**
 * Mount flags a tmpfs option string may carry. Each pair shares a key: the later one wins,
 * as mount(8) and Docker's option merge do.
 */
const FLAG_KEYS: Record<string, string> = {
  ro: 'rdonly',
  rw: 'rdonly',
  exec: 'noexec',
  noexec: 'noexec',
  suid: 'nosuid',
  nosuid: 'nosuid',
  dev: 'nodev',
  nodev: 'nodev',
  sync: 'sync',
  async: 'sync',
  dirsync: 'dirsync',
  atime: 'noatime',
  noatime: 'noatime',
  diratime: 'nodiratime',
  nodiratime: 'nodiratime',
  relatime: 'relatime',
  norelatime: 'relatime',
  strictatime: 'strictatime',
  nostrictatime: 'strictatime',
  mand: 'mand',
  nomand: 'mand',
  nosymfollow: 'nosymfollow',
  symfollow: 'nosymfollow',
  remount: 'remount',
  // runc's extension: copy the image's content at the destination into the new tmpfs.
  tmpcopyup: 'tmpcopyup',
  // Propagation: one mode only.
  private: 'propagation',
  rprivate: 'propagation',
  shared: 'propagation',
  rshared: 'propagation',
  slave: 'propagation',
  rslave: 'propagation',
  unbindable: 'propagation',
  runbindable: 'propagation',
};

/** key=value options tmpfs accepts (Docker's list). */
const DATA_KEYS = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

export interface TmpfsOptions {
  /** Merged OCI mount options, Docker's defaults first, duplicates resolved (last wins). */
  options: string[];
  /** size= in bytes, if given (k/m/g suffixes; % of RAM is kept only in `options`). */
  sizeBytes?: number;
  /** mode= as a number, if given. */
  mode?: number;
}

/** Bytes from a tmpfs size such as "64m", "1g", "512k", "1048576". */
export function parseSize(value: string): number {
  const m = /^(\d+)([kmgtpe]?)$/i.exec(value);
  if (!m) throw invalidArgument(`invalid tmpfs size: ${JSON.stringify(value)}`);
  const exp = ' kmgtpe'.indexOf((m[2] || ' ').toLowerCase());
  return Number(m[1]) * 1024 ** exp;
}

/**
 * Parse one HostConfig.Tmpfs value ("size=64m,mode=1777,noexec") into OCI mount options as
 * Docker does: start from noexec,nosuid,nodev,rprivate, append the user's options, and let
 * the last of each conflicting pair win.
 */
export function parseTmpfsOptions(data: string): TmpfsOptions {
  const all = ['noexec', 'nosuid', 'nodev', 'rprivate'];
  if (data.trim() !== '') all.push(...data.split(',').map((s) => s.trim()));
  const seenFlags = new Set<string>();
  const seenData = new Set<string>();
  const merged: string[] = [];
  const res: TmpfsOptions = { options: merged };
  // Walk from the end so the last occurrence wins, then prepend to keep the order.
  for (let i = all.length - 1; i >= 0; i--) {
    const opt = all[i]!;
    if (opt === 'defaults' || opt === '') continue;
    const flagKey = FLAG_KEYS[opt];
    if (flagKey) {
      if (seenFlags.has(flagKey)) continue;
      seenFlags.add(flagKey);
      merged.unshift(opt);
      continue;
    }
    const eq = opt.indexOf('=');
    const key = eq > 0 ? opt.slice(0, eq) : '';
    if (!DATA_KEYS.has(key)) throw invalidArgument(`invalid tmpfs option ${JSON.stringify(opt)}`);
    if (seenData.has(key)) continue;
    seenData.add(key);
    const value = opt.slice(eq + 1);
    if (key === 'size') {
      if (!value.endsWith('%')) res.sizeBytes = parseSize(value);
      else if (!/^\d+%$/.test(value))
        throw invalidArgument(`invalid tmpfs size: ${JSON.stringify(value)}`);
    } else if (key === 'mode') {
      if (!/^[0-7]{1,4}$/.test(value))
        throw invalidArgument(`invalid tmpfs mode: ${JSON.stringify(value)}`);
      res.mode = parseInt(value, 8);
    } else if (
      (key === 'uid' || key === 'gid' || key.startsWith('nr_')) &&
      !/^\d+[kmg]?$/i.test(value)
    ) {
      throw invalidArgument(`invalid tmpfs option ${JSON.stringify(opt)}`);
    }
    merged.unshift(opt);
  }
  return res;
}

/** OCI mounts for HostConfig.Tmpfs, sorted by destination depth as Docker sorts mounts. */
export function tmpfsMounts(tmpfs: Record<string, string> | null | undefined): OciMount[] {
  const out: OciMount[] = [];
  for (const [dest, data] of Object.entries(tmpfs ?? {})) {
    if (!posix.isAbsolute(dest))
      throw invalidArgument(`invalid mount path: '${dest}' mount path must be absolute`);
    if (posix.normalize(dest) === '/')
      throw invalidArgument(`invalid mount path: '/' cannot be used as a tmpfs mount`);
    out.push({
      destination: posix.normalize(dest),
      type: 'tmpfs',
      source: 'tmpfs',
      options: parseTmpfsOptions(data).options,
    });
  }
  return sortMounts(out);
}

/** Parents before children: sort by the number of path components (stable). */
export function sortMounts<T extends { destination: string }>(mounts: T[]): T[] {
  const depth = (p: string): number => posix.normalize(p).split('/').filter(Boolean).length;
  return [...mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
}
