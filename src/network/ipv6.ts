import { conflict, invalidArgument, unavailable } from '../common/index.js';

/**
 * IPv6 addresses as bigints, CIDRs, and an allocator for a network's v6 subnet. Pure.
 * Formatting follows RFC 5952 (lower case, the longest run of two or more zero groups as
 * `::`, the first such run on a tie), as Docker shows addresses.
 */

export interface Cidr6 {
  network: bigint;
  prefixLen: number;
}

const MAX = (1n << 128n) - 1n;

export function parseIPv6(text: string): bigint {
  const bad = (): Error => invalidArgument(`invalid IPv6 address: ${text}`);
  if (typeof text !== 'string' || !/^[0-9a-fA-F:]+$/.test(text) || text.length > 39) throw bad();
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw bad();
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

export function formatIPv6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function isIPv6(text: string): boolean {
  try {
    parseIPv6(text);
    return true;
  } catch {
    return false;
  }
}

function mask(prefixLen: number): bigint {
  return prefixLen === 0 ? 0n : (MAX << BigInt(128 - prefixLen)) & MAX;
}

/** "fd00:1::/64"; the address part must be the network address (Docker refuses others). */
export function parseCidr6(text: string): Cidr6 {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
  if (!m) throw invalidArgument(`invalid CIDR address: ${text}`);
  const prefixLen = Number(m[2]);
  if (prefixLen > 128) throw invalidArgument(`invalid CIDR address: ${text}`);
  const addr = parseIPv6(m[1]!);
  return { network: addr & mask(prefixLen), prefixLen };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIPv6(c.network)}/${c.prefixLen}`;
}

export function cidr6Contains(c: Cidr6, ip: bigint): boolean {
  return (ip & mask(c.prefixLen)) === c.network;
}

/** A random unique-local /64 (fdXX:XXXX:XXXX:XXXX::/64), for `--ipv6` without a v6 subnet. */
export function randomUlaSubnet(bytes: Buffer): Cidr6 {
  let v = 0xfdn;
  for (let i = 0; i < 7; i++) v = (v << 8n) | BigInt(bytes[i]! & 0xff);
  return { network: v << 64n, prefixLen: 64 };
}

/**
 * dockerd's address for a container on a default bridge whose fixed-cidr-v6 leaves at least
 * 48 host bits: the subnet's prefix with the interface's MAC in the last six bytes (so the
 * 02:42 MAC derived from the v4 address gives `<prefix>::242:ac11:2`).
 */
export function macDerivedIPv6(subnet: Cidr6, mac: string): bigint {
  if (subnet.prefixLen > 80)
    throw invalidArgument(
      `Cannot self generate an IPv6 address on network ${formatCidr6(subnet)}: At least 48 host bits are needed.`,
    );
  const bytes = mac.split(':').map((b) => parseInt(b, 16));
  if (bytes.length !== 6 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255))
    throw invalidArgument(`invalid MAC address: ${mac}`);
  let low = 0n;
  for (const b of bytes) low = (low << 8n) | BigInt(b);
  return subnet.network | low;
}

/**
 * Addresses in a v6 subnet: the lowest free one above the subnet's first address (the
 * gateway, by default, is the first after it), or a static one. The subnet-router anycast
 * address (all zeroes host part) is never handed out.
 */
export class Subnet6Allocator {
  private readonly byOwner = new Map<string, bigint>();
  private readonly owners = new Map<bigint, string>();
  private readonly reserved = new Set<bigint>();

  /** Where dynamic addresses come from (--ip-range); static ones may be anywhere in the subnet. */
  readonly range: Cidr6;

  constructor(
    readonly subnet: Cidr6,
    reserved: readonly bigint[],
    range?: Cidr6,
  ) {
    this.range = range ?? subnet;
    this.reserved.add(subnet.network);
    for (const r of reserved) this.reserved.add(r);
  }

  get(owner: string): bigint | undefined {
    return this.byOwner.get(owner);
  }

  allocate(owner: string, wanted?: bigint): bigint {
    if (this.byOwner.has(owner))
      throw conflict(`${owner} already holds an address in ${formatCidr6(this.subnet)}`);
    let ip = wanted;
    if (ip !== undefined) {
      if (!cidr6Contains(this.subnet, ip) || this.reserved.has(ip))
        throw invalidArgument(
          `address ${formatIPv6(ip)} is not usable in ${formatCidr6(this.subnet)}`,
        );
      if (this.owners.has(ip)) throw conflict('Address already in use');
    } else {
      const r = this.range;
      const last = r.network | (~mask(r.prefixLen) & MAX);
      const first = r.network > this.subnet.network ? r.network : this.subnet.network + 1n;
      for (let c = first; c <= last; c++) {
        if (!this.reserved.has(c) && !this.owners.has(c)) {
          ip = c;
          break;
        }
        // A network holds far fewer endpoints than this: give up rather than spin.
        if (c - first > 1_000_000n) break;
      }
      if (ip === undefined)
        throw unavailable(
          `no available IPv6 addresses on this network's address pools: ${formatCidr6(r)}`,
        );
    }
    this.byOwner.set(owner, ip);
    this.owners.set(ip, owner);
    return ip;
  }

  release(owner: string): void {
    const ip = this.byOwner.get(owner);
    if (ip === undefined) return;
    this.byOwner.delete(owner);
    this.owners.delete(ip);
  }
}
