import { unavailable } from '../common/index.js';
import { cidrOverlaps, parseCidr, splitCidr, type Cidr } from './ipv4.js';

/** A base range and the prefix length of the subnets carved out of it. */
export interface AddressPool {
  base: string;
  size: number;
}

/**
 * Docker's default local address pools (daemon.json "default-address-pools" when unset):
 * 172.17.0.0/16 … 172.31.0.0/16 as /16s, then 192.168.0.0/16 as /20s.
 */
export const DEFAULT_ADDRESS_POOLS: readonly AddressPool[] = Object.freeze([
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
]);

/** One entry of `ip -j route` output (only the fields we use). */
export interface RouteEntry {
  dst?: string;
  dev?: string;
  type?: string;
}

/**
 * The destinations routed on the host, as subnets, from `ip -j -4 route` output. The default
 * route is left out (it overlaps everything), and so are routes on `ignoreDevs` (our own
 * bridges: after a restart our subnet is routed on our bridge and must not count as taken).
 */
export function routedSubnets(
  routes: readonly RouteEntry[],
  ignoreDevs: readonly string[] = [],
): Cidr[] {
  const out: Cidr[] = [];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default') continue;
    if (r.dev !== undefined && ignoreDevs.includes(r.dev)) continue;
    const text = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    try {
      out.push(parseCidr(text));
    } catch {
      // An IPv6 or otherwise foreign entry: not ours to judge.
    }
  }
  return out;
}

/**
 * The first subnet from `pools` that overlaps neither a routed subnet nor one in `taken`
 * (subnets of other Wharf networks), as Docker elects the default bridge's subnet.
 */
export function chooseSubnet(
  pools: readonly AddressPool[],
  routed: readonly Cidr[],
  taken: readonly Cidr[] = [],
): Cidr {
  const busy = [...routed, ...taken];
  for (const pool of pools) {
    for (const candidate of splitCidr(parseCidr(pool.base), pool.size)) {
      if (!busy.some((b) => cidrOverlaps(b, candidate))) return candidate;
    }
  }
  throw unavailable(
    `could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network (pools: ${pools.map((p) => p.base).join(', ')}); set "bip" in daemon.json`,
  );
}
