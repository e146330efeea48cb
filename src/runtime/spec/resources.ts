import { readFileSync } from 'node:fs';

import { invalidArgument } from '../../common/index.js';
import type { HostConfig, ThrottleDevice, Ulimit } from '../../api-types/index.js';
import type {
  OciBlockIO,
  OciCpu,
  OciMemory,
  OciResources,
  OciRlimit,
  OciThrottleDevice,
} from '../../oci/index.js';

import { deviceNumbersOf } from './devices.js';

/** RLIMIT_NOFILE Docker containers get when the user sets none (inherited from containerd). */
export const DEFAULT_NOFILE = 1048576;

/**
 * The default nofile limit this host can grant: Docker's 1048576, capped at our own hard
 * limit. Some hosts refuse to raise RLIMIT_NOFILE past the caller's hard limit even for root
 * (this one lacks CAP_SYS_RESOURCE: hard limit 20000), and runc then fails the create.
 */
export function defaultNofile(limitsText = readFileSync('/proc/self/limits', 'utf8')): number {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  if (!hard || hard === 'unlimited') return DEFAULT_NOFILE;
  const n = Number(hard);
  return Number.isFinite(n) && n > 0 ? Math.min(DEFAULT_NOFILE, n) : DEFAULT_NOFILE;
}

const ULIMIT_NAMES = new Set([
  'as',
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

/** process.rlimits from HostConfig.Ulimits, plus the default nofile when not given. */
export function rlimits(
  ulimits: readonly Ulimit[] | null | undefined,
  nofile: number = DEFAULT_NOFILE,
): OciRlimit[] {
  const out: OciRlimit[] = [];
  const seen = new Set<string>();
  for (const u of ulimits ?? []) {
    const name = u.Name.toLowerCase();
    if (!ULIMIT_NAMES.has(name)) throw invalidArgument(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard && u.Hard !== -1) {
      throw invalidArgument(
        `ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`,
      );
    }
    seen.add(name);
    // -1 is "unlimited"; serializeSpec writes it as RLIM_INFINITY (2^64-1), which a JS number
    // cannot carry exactly.
    out.push({ type: `RLIMIT_${name.toUpperCase()}`, soft: u.Soft, hard: u.Hard });
  }
  if (!seen.has('nofile')) out.push({ type: 'RLIMIT_NOFILE', soft: nofile, hard: nofile });
  return out;
}

function memory(h: HostConfig): OciMemory | undefined {
  const m: OciMemory = {};
  const limit = h.Memory ?? 0;
  if (limit > 0) m.limit = limit;
  if ((h.MemoryReservation ?? 0) > 0) m.reservation = h.MemoryReservation;
  const swap = h.MemorySwap ?? 0;
  if (swap > 0) {
    if (limit > 0 && swap < limit) {
      throw invalidArgument(
        'Minimum memoryswap limit should be larger than memory limit, see usage',
      );
    }
    m.swap = swap;
  } else if (swap === 0 && limit > 0) {
    // dockerd stores MemorySwap = 2 x Memory when only Memory is given.
    m.swap = limit * 2;
  }
  // MemorySwap -1: unlimited swap; leaving memsw untouched keeps it unlimited, as Docker does.
  const swappiness = h.MemorySwappiness;
  if (swappiness !== undefined && swappiness !== null && swappiness !== -1) {
    if (swappiness < 0 || swappiness > 100) {
      throw invalidArgument(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
    }
    m.swappiness = swappiness;
  }
  if (h.OomKillDisable !== undefined && h.OomKillDisable !== null)
    m.disableOOMKiller = h.OomKillDisable;
  return Object.keys(m).length ? m : undefined;
}

function cpu(h: HostConfig): OciCpu | undefined {
  const c: OciCpu = {};
  if (h.CpuShares) {
    if (h.CpuShares < 0) {
      throw invalidArgument(
        `invalid CPU shares (${h.CpuShares}): value must be a positive integer`,
      );
    }
    c.shares = h.CpuShares;
  }
  if (h.CpusetCpus) c.cpus = h.CpusetCpus;
  if (h.CpusetMems) c.mems = h.CpusetMems;
  if ((h.NanoCpus ?? 0) > 0) {
    if (h.CpuPeriod || h.CpuQuota) {
      throw invalidArgument(
        `Conflicting options: Nano CPUs and CPU ${h.CpuPeriod ? 'Period' : 'Quota'} cannot both be set`,
      );
    }
    const period = 100_000;
    c.period = period;
    c.quota = Math.floor((h.NanoCpus! * period) / 1e9);
  }
  if (h.CpuPeriod) c.period = h.CpuPeriod;
  if (h.CpuQuota) c.quota = h.CpuQuota;
  if (h.CpuRealtimePeriod) c.realtimePeriod = h.CpuRealtimePeriod;
  if (h.CpuRealtimeRuntime) c.realtimeRuntime = h.CpuRealtimeRuntime;
  return Object.keys(c).length ? c : undefined;
}

function throttle(
  devs: readonly ThrottleDevice[] | null | undefined,
): OciThrottleDevice[] | undefined {
  if (!devs?.length) return undefined;
  return devs.map((d) => ({ ...deviceNumbersOf(d.Path), rate: d.Rate }));
}

function blockIO(h: HostConfig): OciBlockIO | undefined {
  const b: OciBlockIO = {};
  if (h.BlkioWeight) b.weight = h.BlkioWeight;
  if (h.BlkioWeightDevice?.length) {
    b.weightDevice = h.BlkioWeightDevice.map((d) => ({
      ...deviceNumbersOf(d.Path),
      weight: d.Weight,
    }));
  }
  const set = <K extends keyof OciBlockIO>(k: K, v: OciBlockIO[K] | undefined): void => {
    if (v !== undefined) b[k] = v;
  };
  set('throttleReadBpsDevice', throttle(h.BlkioDeviceReadBps));
  set('throttleWriteBpsDevice', throttle(h.BlkioDeviceWriteBps));
  set('throttleReadIOPSDevice', throttle(h.BlkioDeviceReadIOps));
  set('throttleWriteIOPSDevice', throttle(h.BlkioDeviceWriteIOps));
  return Object.keys(b).length ? b : undefined;
}

/**
 * linux.resources (without devices) from HostConfig, as dockerd fills it. Also what
 * `runc update` takes (as JSON on stdin) for `docker update`.
 */
export function resourcesFromHostConfig(h: HostConfig): OciResources {
  const r: OciResources = {};
  const mem = memory(h);
  if (mem) r.memory = mem;
  const c = cpu(h);
  if (c) r.cpu = c;
  const b = blockIO(h);
  if (b) r.blockIO = b;
  if (h.PidsLimit !== undefined && h.PidsLimit !== null) {
    // 0 and negative mean "unlimited"; runc needs -1 to lift an earlier limit.
    r.pids = { limit: h.PidsLimit > 0 ? h.PidsLimit : -1 };
  }
  return r;
}
