import { randomBytes } from 'node:crypto';

import type { NetworkCreateRequest } from '../api-types/index.js';
import {
  conflict,
  errorMessage,
  invalidArgument,
  KeyedMutex,
  notFound,
  notImplemented,
  WharfError,
  type Logger,
} from '../common/index.js';
import { defaultGateway, planNetwork, type NetworkPlan } from './create-plan.js';
import type { DnsNetwork } from './dns-answer.js';
import { EmbeddedDns } from './dns-server.js';
import { ipJson, type LinkAddrEntry } from './iproute.js';
import { cidrOverlaps, formatCidr, formatIPv4, parseCidr, type Cidr } from './ipv4.js';
import {
  cidr6Contains,
  formatCidr6,
  formatIPv6,
  parseCidr6,
  randomUlaSubnet,
  type Cidr6,
} from './ipv6.js';
import { chooseSubnet, routedSubnets, type AddressPool, type RouteEntry } from './pools.js';
import { deleteRecord, NETWORK_SCHEMA_VERSION, type NetworkRecord } from './store.js';
import { ownParentNames } from './macvlan.js';
import { UserBridge } from './user-bridge.js';

export interface UserNetworksOptions {
  networksDir: string;
  defaultMtu: number;
  pools: readonly AddressPool[];
  /** Subnets (v4 and v6) and bridge names Wharf's other networks (the default bridge) hold. */
  reserved: () => { subnets: Cidr[]; subnets6: Cidr6[]; bridges: string[] };
  /** Rebuild the firewall chains after the set of networks changed. */
  syncFirewall: () => Promise<void>;
  /** The host's resolv.conf, whose nameservers the embedded DNS forwards to. */
  hostResolvConf?: string;
  logger: Logger;
}

const forbidden = (message: string): WharfError =>
  new WharfError('forbidden', 'ERR_FORBIDDEN', message);

/**
 * The user-defined bridge networks: create (record first, then the bridge, then the firewall),
 * remove (refused while containers are attached), look up by ID, name or ID prefix. A crash
 * between a record and its device is repaired by open(), which makes every recorded bridge.
 */
export class UserNetworks {
  private readonly byId = new Map<string, UserBridge>();
  /** Serialises creations and removals (names, subnets and bridge names must stay unique). */
  private readonly lock = new KeyedMutex();

  readonly dns: EmbeddedDns;

  constructor(private readonly opts: UserNetworksOptions) {
    this.dns = new EmbeddedDns({
      networks: () => this.dnsView(),
      hostResolvConf: opts.hostResolvConf,
      logger: opts.logger.child({ module: 'dns' }),
    });
  }

  /** What the embedded DNS knows: every network's endpoints and their names. */
  dnsView(): DnsNetwork[] {
    return this.all().map((n) => ({
      id: n.id,
      gateway: n.record.gateway,
      internal: n.internal,
      endpoints: Object.entries(n.record.endpoints).map(([cid, ep]) => ({
        containerId: cid,
        ip: ep.ipAddress,
        ...(ep.ipv6Address ? { ipv6: ep.ipv6Address } : {}),
        names: ep.dnsNames ?? [],
        upstreams: ep.dnsUpstreams,
      })),
    }));
  }

  /**
   * A new macvlan network's parent: the one given (it must exist, and no other macvlan network
   * may use it, as dockerd), else one Wharf makes (also for `--internal`, as dockerd's dummy).
   */
  private macvlanParent(
    p: NonNullable<NetworkPlan['macvlan']>,
    id: string,
    links: readonly LinkAddrEntry[],
  ): { parent: string; mode: string; own: boolean } {
    if (p.parent === undefined)
      return { parent: ownParentNames(id).parent, mode: p.mode, own: true };
    // dockerd makes a missing `eth0.10` as a VLAN of eth0 and refuses other missing names.
    if (!links.some((l) => l.ifname === p.parent)) {
      if (p.parent.includes('.'))
        throw notImplemented(
          `802.1q sub-interfaces (${p.parent}) are not made by Wharf: create the VLAN interface first`,
        );
      throw invalidArgument(
        `invalid subinterface vlan name ${p.parent}, example formatting is eth0.10`,
      );
    }
    // dockerd names the other network by its dummy-parent name (dm-<id12>), whatever it uses.
    const user = this.all().find((n) => n.record.user?.macvlan?.parent === p.parent);
    if (user)
      throw forbidden(
        `network ${ownParentNames(user.id).parent} is already using parent interface ${p.parent}`,
      );
    return { parent: p.parent, mode: p.mode, own: false };
  }

  /** Load the records and make sure each bridge exists with its address. */
  async open(records: readonly NetworkRecord[], links: readonly LinkAddrEntry[]): Promise<void> {
    for (const rec of records) {
      const net = new UserBridge(
        rec,
        this.opts.networksDir,
        this.opts.defaultMtu,
        this.opts.logger,
      );
      this.byId.set(rec.id, net);
      try {
        await net.ensureDevice(links);
        if (net.isBridge) await this.dns.listen(rec.gateway);
      } catch (err) {
        this.opts.logger.error(
          { network: rec.name, bridge: rec.bridgeName, err: errorMessage(err) },
          'recreating a network bridge',
        );
      }
    }
  }

  all(): UserBridge[] {
    return [...this.byId.values()];
  }

  /** By full ID, exact name, then unique ID prefix (Docker's order); undefined if none. */
  find(ref: string): UserBridge | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const named = this.all().find((n) => n.name === ref);
    if (named) return named;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const byPrefix = this.all().filter((n) => n.id.startsWith(ref));
    if (byPrefix.length > 1)
      throw new WharfError(
        'invalid-argument',
        'ERR_AMBIGUOUS',
        `network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`,
      );
    return byPrefix[0];
  }

  get(ref: string): UserBridge {
    const n = this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const plan = planNetwork(req);
    return this.lock.run('networks', async () => {
      if (this.all().some((n) => n.name === plan.name))
        throw conflict(`network with name ${plan.name} already exists`);
      const reserved = this.opts.reserved();
      const others = [...reserved.subnets, ...this.all().map((n) => parseCidr(n.record.subnet))];
      const bridges = [...reserved.bridges, ...this.all().map((n) => n.bridgeName)];
      let subnet = plan.subnet;
      if (subnet) {
        if (others.some((o) => cidrOverlaps(o, subnet!)))
          throw forbidden(
            'invalid pool request: Pool overlaps with other one on this address space',
          );
      } else {
        const routes = await ipJson<RouteEntry>(['-4', 'route', 'show']);
        subnet = chooseSubnet(this.opts.pools, routedSubnets(routes, bridges), others);
      }
      const id = randomBytes(32).toString('hex');
      const links = await ipJson<LinkAddrEntry>(['-d', 'addr', 'show']);
      const macvlan = plan.macvlan ? this.macvlanParent(plan.macvlan, id, links) : undefined;
      // A macvlan network has no bridge: the parent Wharf made, if any, goes by that name.
      const bridgeName = macvlan
        ? macvlan.own
          ? macvlan.parent
          : ''
        : (plan.bridgeName ?? `br-${id.slice(0, 12)}`);
      if (bridgeName && bridges.includes(bridgeName))
        throw conflict(`bridge name ${bridgeName} is used by another network`);
      if (bridgeName && links.some((l) => l.ifname === bridgeName))
        throw conflict(`device ${bridgeName} already exists on the host`);
      const gateway = plan.gateway ?? defaultGateway(subnet, subnet.network + 1, plan.ipRange);
      const v6 = plan.ipv6 ? ipv6Plan(plan.ipv6, this.all(), reserved.subnets6) : undefined;
      const rec: NetworkRecord = {
        schemaVersion: NETWORK_SCHEMA_VERSION,
        id,
        name: plan.name,
        driver: macvlan ? 'macvlan' : 'bridge',
        bridgeName,
        subnet: formatCidr(subnet),
        gateway: formatIPv4(gateway),
        created: new Date().toISOString(),
        endpoints: {},
        user: {
          internal: plan.internal,
          attachable: plan.attachable,
          labels: plan.labels,
          options: plan.options,
          ...(plan.ipRange ? { ipRange: formatCidr(plan.ipRange) } : {}),
          ...(Object.keys(plan.auxAddresses).length > 0 ? { auxAddresses: plan.auxAddresses } : {}),
          ipamConfigured: plan.subnet !== undefined,
          ...(plan.mtu !== undefined ? { mtu: plan.mtu } : {}),
          icc: plan.icc,
          ...(v6 ? { ipv6: v6 } : {}),
          // dockerd's macvlan IPAM shows a gateway only when one was given.
          ...(macvlan ? { macvlan: { ...macvlan, gatewayGiven: plan.gateway !== undefined } } : {}),
        },
      };
      const net = new UserBridge(
        rec,
        this.opts.networksDir,
        this.opts.defaultMtu,
        this.opts.logger,
      );
      // Durable first: a crash after this point leaves a record whose bridge open() makes.
      await net.save();
      this.byId.set(id, net);
      try {
        await net.ensureDevice(links);
        // The resolver first: its port (53, or another when 53 is taken) goes in the rules.
        if (net.isBridge) await this.dns.listen(rec.gateway);
        await this.opts.syncFirewall();
      } catch (err) {
        this.byId.delete(id);
        if (net.isBridge) await this.dns.unlisten(rec.gateway);
        await net.removeDevice();
        await deleteRecord(this.opts.networksDir, id);
        await this.opts.syncFirewall().catch(() => undefined);
        throw err;
      }
      this.opts.logger.info(
        { network: plan.name, bridge: bridgeName, subnet: rec.subnet },
        'network created',
      );
      return { Id: id, Warning: '' };
    });
  }

  /**
   * Remove a network no container has an endpoint on. Endpoints exist only while a container
   * runs (or is starting: it has its endpoint before it counts as running, so a check on
   * running containers alone would let the bridge go from under a start).
   */
  async remove(ref: string): Promise<UserBridge> {
    return this.lock.run('networks', async () => {
      const net = this.get(ref);
      const attached = Object.keys(net.record.endpoints);
      if (attached.length > 0)
        throw forbidden(
          `error while removing network: network ${net.name} id ${net.id} has active endpoints`,
        );
      // The record goes last: a crash before leaves a network that can be removed again.
      this.byId.delete(net.id);
      if (net.isBridge) await this.dns.unlisten(net.record.gateway);
      await this.opts.syncFirewall();
      await net.removeDevice();
      await deleteRecord(this.opts.networksDir, net.id);
      this.opts.logger.info({ network: net.name }, 'network removed');
      return net;
    });
  }
}

/** The v6 subnet and gateway of a new dual-stack network; overlaps refused as for v4. */
function ipv6Plan(
  p: NonNullable<NetworkPlan['ipv6']>,
  existing: readonly UserBridge[],
  reserved: readonly Cidr6[],
): NonNullable<NonNullable<NetworkRecord['user']>['ipv6']> {
  const taken = existing
    .map((n) => n.record.user?.ipv6?.subnet)
    .filter((s): s is string => s !== undefined)
    .map(parseCidr6)
    .concat(reserved);
  const subnet = p.subnet ?? randomUlaSubnet(randomBytes(7));
  const overlaps = (a: Cidr6, b: Cidr6): boolean =>
    cidr6Contains(a, b.network) || cidr6Contains(b, a.network);
  if (taken.some((t) => overlaps(t, subnet)))
    throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
  return {
    subnet: formatCidr6(subnet),
    gateway: formatIPv6(p.gateway ?? defaultGateway(subnet, subnet.network + 1n, p.ipRange)),
    ipamConfigured: p.subnet !== undefined,
    ...(p.ipRange ? { ipRange: formatCidr6(p.ipRange) } : {}),
    ...(p.auxAddresses ? { auxAddresses: { ...p.auxAddresses } } : {}),
  };
}
