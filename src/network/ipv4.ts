import { invalidArgument } from '../common/index.js';

/**
 * IPv4 address and subnet arithmetic. Addresses are unsigned 32-bit integers held in a JS
 * number (always >= 0: combine with `>>> 0` after bitwise operators).
 */

export interface Cidr {
  /** The network address (host bits cleared). */
  readonly network: number;
  readonly prefixLen: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) {
    throw invalidArgument(`invalid IPv4 address: ${JSON.stringify(text)}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIPv4(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.');
}

export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Parse "a.b.c.d/len" into the address as written and its prefix length. */
export function parseIPv4Prefix(text: string): { ip: number; prefixLen: number } {
  const slash = text.indexOf('/');
  if (slash < 0) throw invalidArgument(`invalid CIDR (no prefix length): ${JSON.stringify(text)}`);
  const lenText = text.slice(slash + 1);
  if (!/^(3[0-2]|[12]?\d)$/.test(lenText)) {
    throw invalidArgument(`invalid CIDR prefix length: ${JSON.stringify(text)}`);
  }
  return { ip: parseIPv4(text.slice(0, slash)), prefixLen: Number(lenText) };
}

/** Parse a subnet; host bits in the address are cleared ("10.1.2.3/16" → 10.1.0.0/16). */
export function parseCidr(text: string): Cidr {
  const { ip, prefixLen } = parseIPv4Prefix(text);
  return { network: (ip & maskOf(prefixLen)) >>> 0, prefixLen };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.network)}/${c.prefixLen}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefixLen);
}

export function broadcastOf(c: Cidr): number {
  return (c.network + cidrSize(c) - 1) >>> 0;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefixLen)) >>> 0 === c.network;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  const len = Math.min(a.prefixLen, b.prefixLen);
  const m = maskOf(len);
  return (a.network & m) >>> 0 === (b.network & m) >>> 0;
}

/** Split `base` into consecutive subnets of `prefixLen` (Docker's address-pool splitting). */
export function* splitCidr(base: Cidr, prefixLen: number): Generator<Cidr> {
  if (prefixLen < base.prefixLen || prefixLen > 32) {
    throw invalidArgument(`cannot split ${formatCidr(base)} into /${prefixLen}`);
  }
  const step = 2 ** (32 - prefixLen);
  const end = base.network + cidrSize(base);
  for (let n = base.network; n < end; n += step) yield { network: n, prefixLen };
}

/**
 * Docker's MAC for a container address: 02:42 (locally administered, unicast) followed by the
 * four address bytes, so an address reused by a later container keeps the same MAC and stale
 * neighbour entries elsewhere stay right.
 */
export function macFromIPv4(ip: number): string {
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function isValidMac(mac: string): boolean {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) return false;
  // A unicast address: the multicast bit of the first octet is clear.
  return (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}
