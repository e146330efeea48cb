import { randomBytes } from 'node:crypto';

import {
  conflict,
  errorKind,
  errorMessage,
  internal,
  invalidArgument,
  KeyedMutex,
  type Logger,
} from '../common/index.js';
import { SubnetAllocator } from './ipam.js';
import {
  bridgeLines,
  containerIfLines,
  attachLines,
  containerVethLines,
  deleteLinkLines,
  deleteLinks,
  dropDeadEndpoints,
  enableIPv6,
  enableRouteLocalnet,
  hostVethLines,
  ipBatch,
  type LinkAddrEntry,
  vethsOnBridge,
} from './iproute.js';
import { portRules, type BridgeRuleSpec } from './iptables.js';
import { cidrContains, formatIPv4, macFromIPv4, parseCidr, parseIPv4 } from './ipv4.js';
import { cidr6Contains, formatIPv6, parseCidr6, parseIPv6, Subnet6Allocator } from './ipv6.js';
import { macvlanLines, ownParentLines } from './macvlan.js';
import * as netns from './netns.js';
import {
  recordWriter,
  type CoalescingWriter,
  type EndpointRecord,
  type NetworkRecord,
} from './store.js';

/** A container's endpoint on a network, as the containers module sees it. */
export interface Endpoint {
  networkId: string;
  endpointId: string;
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  macAddress: string;
  hostVeth: string;
  /** Dual-stack networks: the v6 address, its prefix length and the v6 gateway. */
  ipv6?: { address: string; prefixLen: number; gateway: string };
}

export interface ConnectOptions {
  /** The interface name inside the container (eth0, eth1, …). */
  ifName: string;
  /** A static address (--ip): inside the subnet, not the gateway, not taken. */
  ipv4Address?: string;
  /** A static v6 address (--ip6) on a dual-stack network. */
  ipv6Address?: string;
  mac?: string;
  aliases?: string[];
  /** What the embedded DNS answers with this endpoint's address (name, aliases, short ID). */
  dnsNames?: string[];
  /** The container's --dns servers, for the embedded DNS to forward to. */
  upstreams?: string[];
  /**
   * Make the namespace at netnsPath too, in the same process as the container side of the
   * veth (one `unshare … ip -batch`, then one host-side `ip`: two processes instead of
   * three on a start's path).
   */
  createNetns?: boolean;
  /** Add the default route via this network's gateway (the container's first network). */
  defaultRoute: boolean;
}

/** veth host-end name for an endpoint (as the default bridge names them). */
function hostVethName(endpointId: string): string {
  return `veth${endpointId.slice(0, 11)}`;
}

/**
 * One user-defined bridge network: its record, its address allocator and its Linux bridge.
 * Endpoints are keyed by container ID; the record is durable before an address is used.
 */
export class UserBridge {
  readonly allocator: SubnetAllocator;
  private readonly writer: CoalescingWriter;
  private readonly locks = new KeyedMutex();
  readonly prefixLen: number;
  /** Dual-stack networks (`--ipv6`): the v6 allocator. */
  readonly allocator6?: Subnet6Allocator;

  constructor(
    readonly record: NetworkRecord,
    networksDir: string,
    private readonly defaultMtu: number,
    private readonly log: Logger,
  ) {
    const subnet = parseCidr(record.subnet);
    this.prefixLen = subnet.prefixLen;
    const reserved = [parseIPv4(record.gateway)];
    for (const ip of Object.values(record.user?.auxAddresses ?? {})) reserved.push(parseIPv4(ip));
    const range = record.user?.ipRange ? parseCidr(record.user.ipRange) : undefined;
    this.allocator = new SubnetAllocator(subnet, reserved, range);
    for (const [cid, ep] of Object.entries(record.endpoints)) {
      try {
        this.allocator.allocate(cid, parseIPv4(ep.ipAddress));
      } catch (err) {
        log.warn({ container: cid, err: errorMessage(err) }, 'dropping endpoint record');
        delete record.endpoints[cid];
      }
    }
    const v6 = record.user?.ipv6;
    if (v6) {
      const alloc = new Subnet6Allocator(
        parseCidr6(v6.subnet),
        [v6.gateway, ...Object.values(v6.auxAddresses ?? {})].map(parseIPv6),
        v6.ipRange ? parseCidr6(v6.ipRange) : undefined,
      );
      for (const [cid, ep] of Object.entries(record.endpoints)) {
        if (ep.ipv6Address) alloc.allocate(cid, parseIPv6(ep.ipv6Address));
      }
      this.allocator6 = alloc;
    }
    this.writer = recordWriter(networksDir, () => structuredClone(this.record));
  }

  private get v6(): { subnet: string; gateway: string; prefixLen: number } | undefined {
    const v6 = this.record.user?.ipv6;
    return (
      v6 && { subnet: v6.subnet, gateway: v6.gateway, prefixLen: parseCidr6(v6.subnet).prefixLen }
    );
  }

  get id(): string {
    return this.record.id;
  }
  get name(): string {
    return this.record.name;
  }
  get bridgeName(): string {
    return this.record.bridgeName;
  }
  get mtu(): number {
    return this.record.user?.mtu ?? this.defaultMtu;
  }
  get internal(): boolean {
    return this.record.user?.internal ?? false;
  }
  /** A Linux bridge of ours (not macvlan): firewall rules, embedded DNS on the gateway. */
  get isBridge(): boolean {
    return this.record.driver === 'bridge';
  }

  save(): Promise<void> {
    return this.writer.save();
  }

  ruleSpec(): BridgeRuleSpec {
    return {
      bridge: this.bridgeName,
      subnet: this.record.subnet,
      internal: this.internal,
      icc: this.record.user?.icc ?? true,
      gateway: this.record.gateway,
      ports: portRules(Object.values(this.record.endpoints)),
    };
  }

  /** Make the bridge (or fix its address and state) from the record; idempotent. */
  async ensureDevice(links: readonly LinkAddrEntry[]): Promise<void> {
    const mv = this.record.user?.macvlan;
    if (mv) {
      // macvlan: the parent Wharf made is remade; a user's parent must exist.
      if (links.some((l) => l.ifname === mv.parent)) return;
      if (!mv.own)
        throw invalidArgument(`-o parent interface was not found on the host: ${mv.parent}`);
      await ipBatch(ownParentLines(this.id));
      return;
    }
    const link = links.find((l) => l.ifname === this.bridgeName);
    if (link && link.linkinfo?.info_kind !== 'bridge')
      throw conflict(`device ${this.bridgeName} exists and is not a bridge`);
    const addrs = (link?.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`);
    const address = `${this.record.gateway}/${this.prefixLen}`;
    await ipBatch(
      bridgeLines({
        name: this.bridgeName,
        create: link === undefined,
        mtu: this.record.user?.mtu,
        address,
        addAddress: !addrs.includes(address),
        staleAddresses: addrs.filter((a) => a !== address),
      }),
    );
    await enableRouteLocalnet(this.bridgeName);
    const v6 = this.v6;
    if (v6) {
      // The bridge's v6 address (no duplicate detection: the address is ours on a bridge we
      // made, and DAD would hold it "tentative", unusable, for a second or more).
      await enableIPv6(this.bridgeName);
      const have = (link?.addr_info ?? []).some(
        (a) => a.family === 'inet6' && a.local === v6.gateway,
      );
      if (!have)
        await ipBatch([`addr add ${v6.gateway}/${v6.prefixLen} dev ${this.bridgeName} nodad`]);
    }
  }

  /** Delete the bridge and whatever veths are still on it. */
  async removeDevice(): Promise<void> {
    const mv = this.record.user?.macvlan;
    if (mv) {
      // Only a parent Wharf made (its children live in containers' namespaces).
      if (mv.own) await ipBatch(deleteLinkLines([mv.parent]), { force: true }).catch(() => 0);
      return;
    }
    const veths = await vethsOnBridge(this.bridgeName).catch(() => []);
    await ipBatch(deleteLinkLines([...veths, this.bridgeName]), { force: true }).catch(
      () => undefined,
    );
  }

  endpoint(cid: string): Endpoint | undefined {
    const ep = this.record.endpoints[cid];
    return ep && this.toEndpoint(ep);
  }

  endpointRecord(cid: string): EndpointRecord | undefined {
    return this.record.endpoints[cid];
  }

  /** Give a container's namespace an interface on this network. */
  connect(cid: string, netnsPath: string, opts: ConnectOptions): Promise<Endpoint> {
    return this.locks.run(cid, async () => {
      if (this.record.endpoints[cid])
        throw conflict(`endpoint with name ${cid} already exists in network ${this.name}`);
      const ip = this.allocate(cid, opts.ipv4Address);
      let ip6: bigint | undefined;
      try {
        ip6 = this.allocate6(cid, opts.ipv6Address);
      } catch (err) {
        this.allocator.release(cid);
        throw err;
      }
      const endpointId = randomBytes(32).toString('hex');
      const rec: EndpointRecord = {
        endpointId,
        ipAddress: formatIPv4(ip),
        macAddress: (opts.mac ?? macFromIPv4(ip)).toLowerCase(),
        hostVeth: hostVethName(endpointId),
        ifName: opts.ifName,
        ...(ip6 !== undefined ? { ipv6Address: formatIPv6(ip6) } : {}),
        ...(opts.ipv4Address ? { staticIp: true } : {}),
        ...(opts.aliases && opts.aliases.length > 0 ? { aliases: [...opts.aliases] } : {}),
        ...(opts.dnsNames && opts.dnsNames.length > 0 ? { dnsNames: [...opts.dnsNames] } : {}),
        ...(opts.upstreams && opts.upstreams.length > 0
          ? { dnsUpstreams: [...opts.upstreams] }
          : {}),
      };
      const mv = this.record.user?.macvlan;
      if (mv) {
        // No host end: the interface lives in the namespace only.
        rec.hostVeth = '';
        rec.netnsPath = netnsPath;
        if (mv.mode === 'passthru') rec.macAddress = '';
      }
      this.record.endpoints[cid] = rec;
      const saved = this.writer.save();
      const v6 = this.v6;
      const ifLines = containerIfLines({
        ifName: opts.ifName,
        address: `${rec.ipAddress}/${this.prefixLen}`,
        // An internal network gives no way out: no default route through it.
        gateway: opts.defaultRoute && !this.internal ? this.record.gateway : undefined,
        ...(v6 && rec.ipv6Address
          ? {
              ipv6: {
                address: `${rec.ipv6Address}/${v6.prefixLen}`,
                gateway: opts.defaultRoute && !this.internal ? v6.gateway : undefined,
              },
            }
          : {}),
      });
      try {
        if (mv) {
          if (opts.createNetns) await netns.createNetns(netnsPath);
          await Promise.all([
            saved,
            ipBatch(
              macvlanLines({
                parent: mv.parent,
                ifName: opts.ifName,
                netnsPath,
                mode: mv.mode,
                ...(rec.macAddress ? { macAddress: rec.macAddress } : {}),
              }),
            ),
          ]);
          await ipBatch(ifLines, { netnsPath });
        } else if (opts.createNetns) {
          const made = netns
            .createNetns(
              netnsPath,
              containerVethLines({
                ifName: opts.ifName,
                hostVeth: rec.hostVeth,
                mtu: this.mtu,
                macAddress: rec.macAddress,
                hostNetnsPath: `/proc/${process.pid}/ns/net`,
              }).concat(ifLines),
            )
            .then(() => ipBatch(attachLines(rec.hostVeth, this.bridgeName)));
          await Promise.all([saved, made]);
        } else {
          await Promise.all([
            saved,
            ipBatch(
              hostVethLines({
                hostVeth: rec.hostVeth,
                bridge: this.bridgeName,
                ifName: opts.ifName,
                mtu: this.mtu,
                macAddress: rec.macAddress,
                netnsPath,
              }),
            ),
          ]);
          await ipBatch(ifLines, { netnsPath });
        }
      } catch (err) {
        await saved.catch(() => undefined);
        if (rec.hostVeth) await deleteLinks([rec.hostVeth]).catch(() => undefined);
        // A conflict means the namespace already existed: not ours to remove.
        if (opts.createNetns && errorKind(err) !== 'conflict')
          await netns.removeNetns(netnsPath).catch(() => undefined);
        delete this.record.endpoints[cid];
        this.allocator.release(cid);
        this.allocator6?.release(cid);
        await this.writer.save().catch(() => undefined);
        throw internal(
          `connecting container ${cid} to network ${this.name}: ${errorMessage(err)}`,
          err,
        );
      }
      return this.toEndpoint(rec);
    });
  }

  /**
   * Docker's rules for a requested address: inside the subnet (the ip-range does not bind
   * static addresses), not the network's own or reserved addresses, not taken.
   */
  private allocate(cid: string, wanted: string | undefined): number {
    if (wanted === undefined) return this.allocator.allocate(cid);
    let ip: number;
    try {
      ip = parseIPv4(wanted);
    } catch {
      throw invalidArgument(`invalid IPv4 address: ${wanted}`);
    }
    if (!cidrContains(this.allocator.subnet, ip))
      throw invalidArgument(
        `invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${wanted}`,
      );
    if (formatIPv4(ip) === this.record.gateway) throw conflict('Address already in use');
    try {
      return this.allocator.allocate(cid, ip);
    } catch (err) {
      if (err instanceof Error && /in use|not usable/.test(err.message))
        throw conflict('Address already in use');
      throw err;
    }
  }

  /** The v6 address of a new endpoint on a dual-stack network (static: Docker's rules). */
  private allocate6(cid: string, wanted: string | undefined): bigint | undefined {
    const alloc = this.allocator6;
    if (!alloc) {
      if (wanted) throw invalidArgument(`network ${this.name} has no IPv6 subnet for ${wanted}`);
      return undefined;
    }
    if (wanted === undefined) return alloc.allocate(cid);
    let ip: bigint;
    try {
      ip = parseIPv6(wanted);
    } catch {
      throw invalidArgument(`invalid IPv6 address: ${wanted}`);
    }
    if (!cidr6Contains(alloc.subnet, ip))
      throw invalidArgument(
        `invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${wanted}`,
      );
    try {
      return alloc.allocate(cid, ip);
    } catch (err) {
      if (err instanceof Error && /in use|not usable/.test(err.message))
        throw conflict('Address already in use');
      throw err;
    }
  }

  /**
   * Remove a container's endpoint and veth; idempotent. With `background` (the container is
   * gone and its namespace goes next), the veth deletion — tens of ms in the kernel — and the
   * record write are left to run there, as the default bridge does: the addresses stay held
   * until the veth is gone, so no new container gets them while the old interface lingers.
   */
  disconnect(
    cid: string,
    opts: { background?: (p: Promise<unknown>) => void } = {},
  ): Promise<EndpointRecord | undefined> {
    return this.locks.run(cid, async () => {
      const rec = this.record.endpoints[cid];
      if (!rec) return undefined;
      delete this.record.endpoints[cid];
      // A macvlan interface is deleted in the namespace (gone already if that is, and gone
      // with it when the namespace is about to go).
      const gone = (
        rec.hostVeth
          ? deleteLinks([rec.hostVeth])
          : rec.netnsPath && rec.ifName && !opts.background
            ? ipBatch(deleteLinkLines([rec.ifName]), { netnsPath: rec.netnsPath })
            : Promise.resolve()
      ).catch((err: unknown) =>
        this.log.warn({ container: cid, err: errorMessage(err) }, 'deleting the interface'),
      );
      if (!opts.background) {
        await gone;
        this.allocator.release(cid);
        this.allocator6?.release(cid);
        await this.writer.save();
        return rec;
      }
      const holder = `endpoint:${rec.endpointId}`;
      const ip = this.allocator.get(cid);
      const ip6 = this.allocator6?.get(cid);
      this.allocator.release(cid);
      this.allocator6?.release(cid);
      if (ip !== undefined) this.allocator.allocate(holder, ip);
      if (ip6 !== undefined) this.allocator6?.allocate(holder, ip6);
      opts.background(
        gone.finally(() => {
          this.allocator.release(holder);
          this.allocator6?.release(holder);
        }),
      );
      opts.background(
        this.writer
          .save()
          .catch((err: unknown) =>
            this.log.error(
              { container: cid, err: errorMessage(err) },
              'persisting a released endpoint',
            ),
          ),
      );
      return rec;
    });
  }

  /** At daemon start: free endpoints of containers not running, and veths nobody owns. */
  async reconcile(liveIds: ReadonlySet<string>): Promise<number> {
    const n = await dropDeadEndpoints(
      this.bridgeName,
      this.record.endpoints,
      (cid) => {
        this.allocator.release(cid);
        this.allocator6?.release(cid);
      },
      liveIds,
    );
    if (n > 0) await this.writer.save();
    return n;
  }

  toEndpoint(rec: EndpointRecord): Endpoint {
    return {
      networkId: this.id,
      endpointId: rec.endpointId,
      ipAddress: rec.ipAddress,
      prefixLen: this.prefixLen,
      gateway: this.record.gateway,
      macAddress: rec.macAddress,
      hostVeth: rec.hostVeth,
      ...(rec.ipv6Address && this.v6
        ? {
            ipv6: {
              address: rec.ipv6Address,
              prefixLen: this.v6.prefixLen,
              gateway: this.v6.gateway,
            },
          }
        : {}),
    };
  }
}
