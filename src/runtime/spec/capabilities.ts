import { readFileSync } from 'node:fs';

import { invalidArgument } from '../../common/index.js';

/** Linux capability names indexed by capability number (capability.h, up to 6.x kernels). */
export const KNOWN_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The 14 capabilities Docker grants a non-privileged container, in Docker's order. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Capability names set in a CapBnd-style hex mask, in capability-number order. */
export function capabilitiesFromMask(hexMask: string): string[] {
  const mask = BigInt(`0x${hexMask.trim()}`);
  return KNOWN_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

let cachedBoundingSet: string[] | undefined;

/**
 * The host's capability bounding set (CapBnd of this process). A privileged container gets
 * exactly this: hard-coding "all capabilities" breaks where the host lacks some (runc refuses
 * to raise a capability outside its own bounding set).
 */
export function hostBoundingSet(): string[] {
  if (cachedBoundingSet) return [...cachedBoundingSet];
  const status = readFileSync('/proc/self/status', 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('CapBnd:'));
  cachedBoundingSet = line ? capabilitiesFromMask(line.slice('CapBnd:'.length)) : [];
  return [...cachedBoundingSet];
}

/**
 * Normalise CapAdd/CapDrop entries as Docker does: upper-case, add the CAP_ prefix, keep the
 * magic "ALL". Unknown names are rejected with Docker's message; known names missing from
 * `available` (when given) are rejected as unsupported in this environment.
 */
export function normalizeCapabilities(
  caps: readonly string[],
  available?: readonly string[],
): string[] {
  const out: string[] = [];
  for (const raw of caps) {
    let c = raw.toUpperCase();
    if (c === 'ALL') {
      out.push(c);
      continue;
    }
    if (!c.startsWith('CAP_')) c = `CAP_${c}`;
    if (!KNOWN_CAPABILITIES.includes(c)) {
      throw invalidArgument(`unknown capability: ${JSON.stringify(c)}`);
    }
    if (available && !available.includes(c)) {
      throw invalidArgument(
        `capability not supported by your kernel or not available in the current environment: ${JSON.stringify(c)}`,
      );
    }
    out.push(c);
  }
  return out;
}

/**
 * The effective capability list for a container, as Docker computes it: privileged gets the
 * whole host bounding set; CapAdd "ALL" gets the host set minus CapDrop; CapDrop "ALL" keeps
 * only CapAdd; otherwise defaults minus CapDrop plus CapAdd.
 */
export function tweakCapabilities(opts: {
  add?: readonly string[] | null;
  drop?: readonly string[] | null;
  privileged?: boolean;
  hostBoundingSet: readonly string[];
}): string[] {
  const host = opts.hostBoundingSet;
  if (opts.privileged) return [...host];
  const add = normalizeCapabilities(opts.add ?? [], host);
  const drop = normalizeCapabilities(opts.drop ?? [], host);
  if (add.length === 0 && drop.length === 0) return [...DEFAULT_CAPABILITIES];
  let caps: string[];
  if (add.includes('ALL')) {
    caps = host.filter((c) => !drop.includes(c));
  } else if (drop.includes('ALL')) {
    caps = [...add];
  } else {
    caps = DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)).concat(add);
  }
  return [...new Set(caps)];
}
