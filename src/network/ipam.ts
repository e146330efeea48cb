import { conflict, invalidArgument, unavailable } from '../common/index.js';
import { broadcastOf, cidrContains, formatCidr, formatIPv4, type Cidr } from './ipv4.js';

/**
 * Address allocation inside one subnet. Pure and synchronous: callers in one process cannot
 * interleave inside allocate(), so two concurrent container starts never get the same address.
 * Persistence is the owner's job (the allocator is rebuilt from the records on start).
 *
 * Like Docker's default IPAM, the lowest free address is handed out: the MAC is derived from
 * the address, so a reused address comes back with the same MAC and neighbour caches stay right.
 */
export class SubnetAllocator {
  readonly subnet: Cidr;
  private readonly reserved = new Set<number>();
  private readonly byOwner = new Map<string, number>();
  private readonly owners = new Map<number, string>();

  /** Where dynamic addresses come from (--ip-range); static ones may be anywhere in the subnet. */
  readonly range: Cidr;

  constructor(subnet: Cidr, reserved: readonly number[], range?: Cidr) {
    if (subnet.prefixLen > 30) throw invalidArgument(`subnet ${formatCidr(subnet)} is too small`);
    this.subnet = subnet;
    this.range = range ?? subnet;
    this.reserved.add(subnet.network);
    this.reserved.add(broadcastOf(subnet));
    for (const ip of reserved) this.reserved.add(ip);
  }

  /** The address held by `owner`, if any. */
  get(owner: string): number | undefined {
    return this.byOwner.get(owner);
  }

  get size(): number {
    return this.byOwner.size;
  }

  /** Allocate for `owner`: `wanted` when given (it must be free), else the lowest free address. */
  allocate(owner: string, wanted?: number): number {
    if (this.byOwner.has(owner))
      throw conflict(`${owner} already holds an address in ${formatCidr(this.subnet)}`);
    const ip = wanted ?? this.lowestFree();
    if (wanted !== undefined) {
      if (!cidrContains(this.subnet, ip) || this.reserved.has(ip)) {
        throw invalidArgument(
          `address ${formatIPv4(ip)} is not usable in ${formatCidr(this.subnet)}`,
        );
      }
      if (this.owners.has(ip)) throw conflict(`Address already in use: ${formatIPv4(ip)}`);
    }
    this.byOwner.set(owner, ip);
    this.owners.set(ip, owner);
    return ip;
  }

  /** Give back `owner`'s address; false when it held none. */
  release(owner: string): boolean {
    const ip = this.byOwner.get(owner);
    if (ip === undefined) return false;
    this.byOwner.delete(owner);
    this.owners.delete(ip);
    return true;
  }

  owned(): IterableIterator<[string, number]> {
    return this.byOwner.entries();
  }

  private lowestFree(): number {
    const end = broadcastOf(this.range);
    for (let ip = Math.max(this.range.network, this.subnet.network + 1); ip <= end; ip++) {
      if (!this.reserved.has(ip) && !this.owners.has(ip)) return ip;
    }
    throw unavailable(
      `no available IPv4 addresses on this network's address pools: ${formatCidr(this.range)}`,
    );
  }
}
