import { promises as fsp } from 'node:fs';

import { invalidArgument, run, type RunResult } from '../common/index.js';

/**
 * The `ip` (iproute2) wrapper. Each side of a change is one `ip -batch -` process: the host
 * side runs in our network namespace, the container side under `nsenter --net=<file>` (`ip -n`
 * only takes names under /run/netns). Lines are built by the pure functions below.
 */

const TOKEN = /^[^\s"'\\#]+$/;

/** A word safe to put on an `ip -batch` line (the batch parser splits on blanks and quotes). */
export function batchToken(value: string, what: string): string {
  if (!TOKEN.test(value))
    throw invalidArgument(`${what} ${JSON.stringify(value)} cannot be passed to ip`);
  return value;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function checkIfName(name: string, what = 'interface name'): string {
  if (!IFNAME.test(name) || name === '.' || name === '..') {
    throw invalidArgument(
      `invalid ${what} ${JSON.stringify(name)}: 1-15 characters of [A-Za-z0-9_.-]`,
    );
  }
  return name;
}

export interface BridgePlan {
  name: string;
  /** Create the device (it does not exist yet). */
  create: boolean;
  mtu?: number;
  /** Gateway address with prefix, e.g. 172.17.0.1/16. */
  address: string;
  /** Add `address` (absent from the device). */
  addAddress: boolean;
  /** IPv4 addresses with prefix on the device that are not `address`. */
  staleAddresses: readonly string[];
}

export function bridgeLines(p: BridgePlan): string[] {
  const dev = batchToken(checkIfName(p.name, 'bridge name'), 'bridge name');
  const mtu = p.mtu !== undefined ? ` mtu ${p.mtu}` : '';
  const lines: string[] = [];
  if (p.create) lines.push(`link add name ${dev}${mtu} type bridge`);
  else if (p.mtu !== undefined) lines.push(`link set dev ${dev}${mtu}`);
  for (const a of p.staleAddresses) lines.push(`addr del ${batchToken(a, 'address')} dev ${dev}`);
  if (p.addAddress) lines.push(`addr add ${batchToken(p.address, 'address')} brd + dev ${dev}`);
  lines.push(`link set dev ${dev} up`);
  return lines;
}

export interface VethPlan {
  hostVeth: string;
  bridge: string;
  /** Name of the container end inside its namespace. */
  ifName: string;
  mtu: number;
  macAddress: string;
  netnsPath: string;
}

/**
 * Host side: one netlink request creates the pair with the host end enslaved to the bridge and
 * up, and the container end born inside the container's namespace under its final name with
 * its MAC (no temporary name in the host namespace, no rename, no move).
 */
export function hostVethLines(p: VethPlan): string[] {
  const host = checkIfName(p.hostVeth, 'veth name');
  const peer = checkIfName(p.ifName);
  const br = checkIfName(p.bridge, 'bridge name');
  const ns = batchToken(p.netnsPath, 'netns path');
  const mac = batchToken(p.macAddress, 'MAC address');
  return [
    `link add name ${host} mtu ${p.mtu} master ${br} up type veth peer name ${peer} mtu ${p.mtu} address ${mac} netns ${ns}`,
  ];
}

/** Host side when the pair was made from inside the namespace: enslave and raise the host end. */
export function attachLines(hostVeth: string, bridge: string): string[] {
  return [
    `link set dev ${checkIfName(hostVeth, 'veth name')} master ${checkIfName(bridge, 'bridge name')} up`,
  ];
}

export interface ContainerVethPlan {
  ifName: string;
  hostVeth: string;
  mtu: number;
  macAddress: string;
  /** Where the host end goes: our own namespace, /proc/<pid>/ns/net. */
  hostNetnsPath: string;
}

/** Container side, run inside the new namespace: make the pair, host end sent out to us. */
export function containerVethLines(p: ContainerVethPlan): string[] {
  const dev = checkIfName(p.ifName);
  const host = checkIfName(p.hostVeth, 'veth name');
  const mac = batchToken(p.macAddress, 'MAC address');
  const ns = batchToken(p.hostNetnsPath, 'netns path');
  return [
    `link add name ${dev} mtu ${p.mtu} address ${mac} type veth peer name ${host} mtu ${p.mtu} netns ${ns}`,
  ];
}

export interface ContainerIfPlan {
  ifName: string;
  /** Address with prefix, e.g. 172.17.0.2/16. */
  address: string;
  gateway?: string;
  /** Dual-stack networks: the v6 address with prefix, and the v6 default route's gateway. */
  ipv6?: { address: string; gateway?: string };
}

/** Container side: address, link up, default route (v6 too on dual-stack networks). */
export function containerIfLines(p: ContainerIfPlan): string[] {
  const dev = checkIfName(p.ifName);
  const lines = [
    `addr add ${batchToken(p.address, 'address')} brd + dev ${dev}`,
    `link set dev ${dev} up`,
  ];
  if (p.ipv6) lines.push(`addr add ${batchToken(p.ipv6.address, 'address')} dev ${dev} nodad`);
  if (p.gateway !== undefined)
    lines.push(`route add default via ${batchToken(p.gateway, 'gateway')} dev ${dev}`);
  if (p.ipv6?.gateway !== undefined)
    lines.push(`route add default via ${batchToken(p.ipv6.gateway, 'gateway')} dev ${dev}`);
  return lines;
}

export function deleteLinkLines(names: readonly string[]): string[] {
  return names.map((n) => `link del dev ${checkIfName(n)}`);
}

/** argv to run a batch in our namespace, or inside the namespace bound at `netnsPath`. */
export function ipBatchArgv(netnsPath?: string, force = false): string[] {
  const ip = ['ip', ...(force ? ['-force'] : []), '-batch', '-'];
  return netnsPath === undefined ? ip : ['nsenter', `--net=${netnsPath}`, ...ip];
}

export function ipBatch(
  lines: readonly string[],
  opts: { netnsPath?: string; force?: boolean } = {},
): Promise<RunResult> {
  return run(ipBatchArgv(opts.netnsPath, opts.force), { input: lines.join('\n') + '\n' });
}

/** Run `ip -j <args>` and parse its JSON (empty output, as some versions print, is []). */
export async function ipJson<T>(args: readonly string[]): Promise<T[]> {
  const { stdout } = await run(['ip', '-j', ...args]);
  const text = stdout.trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

/** `ip -j -d addr show` entries (the fields we use). */
export interface LinkAddrEntry {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** True when an `ip link del` failure only says the device is already gone. */
export function isNoSuchDevice(stderr: string): boolean {
  return /Cannot find device|does not exist/i.test(stderr);
}

/**
 * route_localnet on one of our bridges: a published port reached on 127.0.0.1 is DNATed to a
 * container, and the packet (source 127.0.0.1 until masqueraded) may then leave through the
 * bridge. Only Wharf's own bridges get it (as dockerd sets it on docker0).
 */
export async function enableRouteLocalnet(bridge: string): Promise<void> {
  const file = `/proc/sys/net/ipv4/conf/${checkIfName(bridge, 'bridge name')}/route_localnet`;
  if ((await fsp.readFile(file, 'utf8')).trim() !== '1') await fsp.writeFile(file, '1\n');
}

/** IPv6 on for a bridge of a dual-stack network (a host may default new devices to off). */
export async function enableIPv6(bridge: string): Promise<void> {
  const file = `/proc/sys/net/ipv6/conf/${checkIfName(bridge, 'bridge name')}/disable_ipv6`;
  if ((await fsp.readFile(file, 'utf8')).trim() !== '0') await fsp.writeFile(file, '0\n');
}

/** The veth devices enslaved to `bridge`. */
export async function vethsOnBridge(bridge: string): Promise<string[]> {
  const links = await ipJson<LinkAddrEntry>(['-d', 'link', 'show', 'master', bridge]);
  return links.filter((l) => l.linkinfo?.info_kind === 'veth').map((l) => l.ifname);
}

/** Delete links; ones already gone are no error. */
export async function deleteLinks(names: readonly string[]): Promise<void> {
  try {
    await ipBatch(deleteLinkLines(names));
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    if (typeof stderr === 'string' && isNoSuchDevice(stderr)) return;
    throw err;
  }
}

/**
 * A bridge's reconcile at daemon start: delete the veths on it that no live endpoint owns
 * (left by a crash mid-connect) and forget the endpoints of containers not in `liveIds`,
 * releasing their addresses. Returns how many veths and endpoints went; the caller saves.
 */
export async function dropDeadEndpoints(
  bridge: string,
  endpoints: Record<string, { hostVeth: string }>,
  release: (containerId: string) => void,
  liveIds: ReadonlySet<string>,
): Promise<number> {
  const attached = await vethsOnBridge(bridge).catch(() => []);
  const liveVeths = new Set(
    Object.entries(endpoints)
      .filter(([cid]) => liveIds.has(cid))
      .map(([, ep]) => ep.hostVeth),
  );
  const stale = attached.filter((v) => !liveVeths.has(v));
  if (stale.length > 0)
    await ipBatch(deleteLinkLines(stale), { force: true }).catch(() => undefined);
  const dead = Object.keys(endpoints).filter((cid) => !liveIds.has(cid));
  for (const cid of dead) {
    delete endpoints[cid];
    release(cid);
  }
  return stale.length + dead.length;
}
