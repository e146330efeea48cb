import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import {
  conflict,
  notFound,
  errorKind,
  errorMessage,
  internal,
  invalidArgument,
  KeyedMutex,
  type Logger,
} from '../common/index.js';
import type {
  NetworkCreateRequest,
  NetworkPruneResponse,
  NetworkResource,
} from '../api-types/index.js';
import {
  attachContainer,
  detachContainer,
  planAttachments,
  publishContainerPorts,
  type AttachRequest,
  type Attached,
  type PlannedAttachment,
  type PublishRequest,
} from './attach.js';
import { SubnetAllocator } from './ipam.js';
import {
  attachLines,
  batchToken,
  bridgeLines,
  checkIfName,
  containerIfLines,
  containerVethLines,
  deleteLinkLines,
  deleteLinks,
  dropDeadEndpoints,
  enableIPv6,
  enableRouteLocalnet,
  hostVethLines,
  ipBatch,
  ipJson,
  type ContainerIfPlan,
  type LinkAddrEntry,
  vethsOnBridge,
} from './iproute.js';
import {
  chainNames,
  iptablesRestore,
  iptablesSave,
  portRules,
  setupRestoreInput,
  setupRestoreInput6,
  teardownRestoreInput,
  type BridgeRuleSpec,
  type ChainNames,
} from './iptables.js';
import {
  cidrContains,
  formatCidr,
  formatIPv4,
  isValidMac,
  macFromIPv4,
  parseCidr,
  parseIPv4,
  parseIPv4Prefix,
  type Cidr,
} from './ipv4.js';
import {
  formatCidr6,
  formatIPv6,
  macDerivedIPv6,
  parseCidr6,
  parseIPv6,
  Subnet6Allocator,
  type Cidr6,
} from './ipv6.js';
import * as netns from './netns.js';
import {
  chooseSubnet,
  DEFAULT_ADDRESS_POOLS,
  routedSubnets,
  type AddressPool,
  type RouteEntry,
} from './pools.js';
import {
  deleteRecord,
  loadNetworks,
  NETWORK_SCHEMA_VERSION,
  recordWriter,
  type CoalescingWriter,
  type EndpointRecord,
  type NetworkRecord,
} from './store.js';
import { type ConnectOptions, type Endpoint, type UserBridge } from './user-bridge.js';
import { UserNetworks } from './user-networks.js';
import { NetworkCatalog, predefinedRecords } from './catalog.js';
import { PortProxies, type ProxyTarget } from './port-proxy.js';
import { portRequests, type PortMapping, type PortRequest } from './ports.js';

export type { Endpoint, ConnectOptions };

export interface NetworkManagerOptions {
  /** Namespace bind mounts go under <execRoot>/netns/<id>. */
  execRoot: string;
  /** Persisted networks and allocations under <dataRoot>/network/. */
  dataRoot: string;
  /** Default 'wharf0'. */
  bridgeName?: string;
  /** daemon.json "bip", e.g. "10.99.0.1/24": the bridge's address and the subnet. */
  bip?: string;
  /** daemon.json "ipv6" / --ipv6: containers on the default bridge get a v6 address too. */
  ipv6?: boolean;
  /** daemon.json "fixed-cidr-v6": the default bridge's v6 subnet (required with ipv6). */
  fixedCidrV6?: string;
  /** Default 'WHARF'; chains are <prefix>-FORWARD (filter) and <prefix>-POSTROUTING (nat). */
  chainPrefix?: string;
  /** Where user-defined networks' subnets come from (daemon.json default-address-pools). */
  addressPools?: readonly AddressPool[];
  mtu?: number;
  /**
   * Keep one namespace connected to the default bridge ready ahead of need, so that a
   * container's start adopts it instead of waiting for `unshare` and `ip` (~10 ms).
   */
  spareNetns?: boolean;
  /** The host's resolv.conf (default /etc/resolv.conf): the embedded DNS forwards to its servers. */
  hostResolvConf?: string;
  logger: Logger;
}

export interface BridgeInfo {
  /** The network ID (64 hex), stable across restarts. */
  id: string;
  /** Docker's name for it: 'bridge'. */
  networkName: string;
  /** The Linux device. */
  name: string;
  subnet: string;
  gateway: string;
  prefixLen: number;
  /** With daemon `ipv6`: the v6 subnet (fixed-cidr-v6), the bridge's v6 address. */
  ipv6?: { subnet: string; gateway: string; prefixLen: number };
}

export const DEFAULT_BRIDGE_NAME = 'wharf0';
export const DEFAULT_CHAIN_PREFIX = 'WHARF';
const DEFAULT_NETWORK_NAME = 'bridge';
const CONTAINER_IFNAME = 'eth0';
const DEFAULT_MTU = 1500;
/** When no start calls spareTime() (it failed early), the next spare is made after this. */
const SPARE_FALLBACK_MS = 250;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkMac(mac: string | undefined): void {
  if (mac !== undefined && !isValidMac(mac)) throw invalidArgument(`invalid MAC address: ${mac}`);
}

function checkId(id: string): string {
  if (!ID.test(id)) throw invalidArgument(`invalid container ID ${JSON.stringify(id)}`);
  return id;
}

/** The veth host-end name for an endpoint (Docker: "veth" + 7 hex; we keep 11 for fewer clashes). */
export function hostVethName(endpointId: string): string {
  return `veth${endpointId.slice(0, 11)}`;
}

/** Given the configuration, the record and the host, the default bridge's gateway and subnet. */
export function electBridgeAddress(args: {
  bip?: string;
  record?: Pick<NetworkRecord, 'subnet' | 'gateway'>;
  /** IPv4 address/prefix already on the bridge device, if it exists. */
  deviceAddress?: string;
  routes: readonly RouteEntry[];
  bridgeName: string;
  /** Subnets of other Wharf networks. */
  taken?: readonly Cidr[];
  pools?: readonly AddressPool[];
}): { subnet: Cidr; gateway: number } {
  const fromPrefix = (text: string): { subnet: Cidr; gateway: number } => {
    const { ip, prefixLen } = parseIPv4Prefix(text);
    const subnet = parseCidr(text);
    if (prefixLen > 30) throw invalidArgument(`bip ${text}: the subnet is too small`);
    if (ip === subnet.network || ip === subnet.network + 2 ** (32 - prefixLen) - 1) {
      throw invalidArgument(`bip ${text}: the gateway must be a host address of the subnet`);
    }
    return { subnet, gateway: ip };
  };
  if (args.bip !== undefined) return fromPrefix(args.bip);
  if (args.record)
    return { subnet: parseCidr(args.record.subnet), gateway: parseIPv4(args.record.gateway) };
  if (args.deviceAddress !== undefined) return fromPrefix(args.deviceAddress);
  const subnet = chooseSubnet(
    args.pools ?? DEFAULT_ADDRESS_POOLS,
    routedSubnets(args.routes, [args.bridgeName]),
    args.taken,
  );
  return { subnet, gateway: subnet.network + 1 };
}

/**
 * The default bridge's v6 subnet and gateway from daemon `ipv6` + `fixed-cidr-v6`, refused
 * with dockerd's words (its network controller fails to start the same way). As dockerd's
 * net.ParseCIDR, host bits in the value are dropped; the gateway is the subnet's first
 * address, as dockerd's IPAM hands it out.
 */
export function electBridgeIPv6(
  ipv6: boolean | undefined,
  fixedCidrV6: string | undefined,
): { subnet: Cidr6; gateway: bigint } | undefined {
  if (!ipv6) return undefined;
  const fail = (msg: string): Error =>
    invalidArgument(`Error initializing network controller: ${msg}`);
  if (!fixedCidrV6)
    throw fail(
      'IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 subnet using --fixed-cidr-v6',
    );
  let subnet: Cidr6;
  try {
    subnet = parseCidr6(fixedCidrV6);
  } catch {
    throw fail(`invalid CIDR address: ${fixedCidrV6}`);
  }
  if (subnet.prefixLen > 126)
    throw fail(`fixed-cidr-v6 ${fixedCidrV6} is too small for containers`);
  return { subnet, gateway: subnet.network + 1n };
}

/**
 * The default bridge network ("bridge", device wharf0) and the per-container plumbing around
 * it: persistent network namespaces, veth endpoints, address allocation, and the firewall
 * rules for the subnet. `none` needs only createNetns; `host` needs nothing from here.
 *
 * Per-container cost: createNetns + connect is three short processes (`unshare` for the
 * namespace and loopback, a host-side `ip -batch` that makes the veth pair with both ends in
 * place, a container-side `ip -batch` for address, link and route); createNetnsConnected does
 * the same in two. disconnect spawns nothing on the caller's path (the veth deletion, which
 * the kernel makes slow, runs in the background). No firewall change per container.
 */
export class NetworkManager {
  readonly bridge: BridgeInfo;
  private readonly log: Logger;
  private readonly locks = new KeyedMutex();
  private readonly writer: CoalescingWriter;
  private readonly pending = new Set<Promise<void>>();
  /** The namespace made ahead of need (spareNetns), under its own key `spare-<hex>`. */
  private spare?: { key: string; ready: Promise<boolean> };
  private spareTimer?: NodeJS.Timeout;
  private spareNetns = false;
  private closed = false;
  /** Whether our ip6tables chains exist (undefined: not checked yet since start). */
  private v6Chains: boolean | undefined;
  /** The host side of published ports. */
  private readonly proxies: PortProxies;
  /** User-defined bridge networks (set by open()). */
  users!: UserNetworks;
  /** Every network by ID, name or prefix, the predefined ones included (set by open()). */
  private catalog!: NetworkCatalog;

  private constructor(
    private readonly record: NetworkRecord,
    private readonly allocator: SubnetAllocator,
    /** With daemon `ipv6`: the default bridge's v6 addresses. */
    private readonly allocator6: Subnet6Allocator | undefined,
    private readonly netnsDir: string,
    private readonly networksDir: string,
    private readonly chains: ChainNames,
    private readonly mtu: number,
    logger: Logger,
  ) {
    this.log = logger;
    const subnet = parseCidr(record.subnet);
    this.bridge = Object.freeze({
      id: record.id,
      networkName: record.name,
      name: record.bridgeName,
      subnet: record.subnet,
      gateway: record.gateway,
      prefixLen: subnet.prefixLen,
      ...(record.ipv6
        ? { ipv6: { ...record.ipv6, prefixLen: parseCidr6(record.ipv6.subnet).prefixLen } }
        : {}),
    });
    this.writer = recordWriter(networksDir, () => structuredClone(this.record));
    this.proxies = new PortProxies(logger.child({ module: 'ports' }));
  }

  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const log = opts.logger.child({ module: 'network' });
    const bridgeName = checkIfName(opts.bridgeName ?? DEFAULT_BRIDGE_NAME, 'bridge name');
    const chains = chainNames(opts.chainPrefix ?? DEFAULT_CHAIN_PREFIX);
    const mtu = opts.mtu ?? DEFAULT_MTU;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
      throw invalidArgument(`invalid mtu ${mtu}`);
    if (!path.isAbsolute(opts.execRoot) || !path.isAbsolute(opts.dataRoot)) {
      throw invalidArgument('execRoot and dataRoot must be absolute paths');
    }
    // Before anything is made: a bad v6 setting stops the daemon as it stops dockerd.
    const v6 = electBridgeIPv6(opts.ipv6, opts.fixedCidrV6);

    const netnsDirWanted = path.join(opts.execRoot, 'netns');
    await netns.ensureNetnsDir(netnsDirWanted);
    const netnsDir = batchToken(await fsp.realpath(netnsDirWanted), 'exec root');
    const networksDir = path.join(opts.dataRoot, 'network', 'networks');

    const [records, links, routes] = await Promise.all([
      loadNetworks(networksDir),
      ipJson<LinkAddrEntry>(['-d', 'addr', 'show']),
      ipJson<RouteEntry>(['-4', 'route', 'show']),
    ]);
    const existing = records.find((r) => r.name === DEFAULT_NETWORK_NAME && !r.user);
    const userRecords = records.filter((r) => r.user !== undefined);
    const link = links.find((l) => l.ifname === bridgeName);
    if (link && link.linkinfo?.info_kind !== 'bridge') {
      throw conflict(`device ${bridgeName} exists and is not a bridge`);
    }
    const linkAddrs = (link?.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`);

    const { subnet, gateway } = electBridgeAddress({
      bip: opts.bip,
      record: existing,
      deviceAddress: linkAddrs[0],
      routes,
      bridgeName,
      taken: userRecords.map((r) => parseCidr(r.subnet)),
      pools: opts.addressPools,
    });
    const subnetText = formatCidr(subnet);
    const gatewayText = formatIPv4(gateway);
    const record: NetworkRecord = existing ?? {
      schemaVersion: NETWORK_SCHEMA_VERSION,
      id: randomBytes(32).toString('hex'),
      name: DEFAULT_NETWORK_NAME,
      driver: 'bridge',
      bridgeName,
      subnet: subnetText,
      gateway: gatewayText,
      created: new Date().toISOString(),
      endpoints: {},
    };
    if (
      record.subnet !== subnetText ||
      record.gateway !== gatewayText ||
      record.bridgeName !== bridgeName
    ) {
      log.warn(
        {
          from: `${record.gateway} on ${record.subnet}`,
          to: `${gatewayText} on ${subnetText}`,
          bridge: bridgeName,
        },
        'default bridge address changed',
      );
      Object.assign(record, { subnet: subnetText, gateway: gatewayText, bridgeName });
    }

    const v6Text = v6 && { subnet: formatCidr6(v6.subnet), gateway: formatIPv6(v6.gateway) };
    if (JSON.stringify(record.ipv6) !== JSON.stringify(v6Text)) {
      if (existing)
        log.warn(
          { from: record.ipv6?.subnet ?? 'none', to: v6Text?.subnet ?? 'none', bridge: bridgeName },
          'default bridge IPv6 subnet changed',
        );
      if (v6Text) record.ipv6 = v6Text;
      else delete record.ipv6;
    }

    // Rebuild the allocator from the records; endpoints that no longer fit are dropped (their
    // containers keep a stale address until they restart, as with Docker after a bip change).
    const allocator = new SubnetAllocator(subnet, [gateway]);
    for (const [cid, ep] of Object.entries(record.endpoints)) {
      try {
        const ip = parseIPv4(ep.ipAddress);
        if (!cidrContains(subnet, ip))
          throw invalidArgument(`${ep.ipAddress} is outside ${subnetText}`);
        allocator.allocate(cid, ip);
      } catch (err) {
        log.warn({ container: cid, err: errorMessage(err) }, 'dropping endpoint record');
        delete record.endpoints[cid];
      }
    }
    // The same for v6 addresses (v6 turned off, or another fixed-cidr-v6): the endpoint stays.
    const allocator6 = v6 && new Subnet6Allocator(v6.subnet, [v6.gateway]);
    for (const [cid, ep] of Object.entries(record.endpoints)) {
      if (ep.ipv6Address === undefined) continue;
      try {
        if (!allocator6) throw invalidArgument('IPv6 is off on the default bridge');
        allocator6.allocate(cid, parseIPv6(ep.ipv6Address));
      } catch (err) {
        log.warn({ container: cid, err: errorMessage(err) }, 'dropping an endpoint IPv6 address');
        delete ep.ipv6Address;
      }
    }

    const address = `${gatewayText}/${subnet.prefixLen}`;
    const bridgePlan = bridgeLines({
      name: bridgeName,
      create: link === undefined,
      mtu: opts.mtu,
      address,
      addAddress: !linkAddrs.includes(address),
      staleAddresses: linkAddrs.filter((a) => a !== address),
    });
    const mgr = new NetworkManager(
      record,
      allocator,
      allocator6,
      netnsDir,
      networksDir,
      chains,
      mtu,
      log,
    );
    mgr.spareNetns = opts.spareNetns ?? false;
    mgr.users = new UserNetworks({
      networksDir,
      defaultMtu: mtu,
      pools: opts.addressPools ?? DEFAULT_ADDRESS_POOLS,
      reserved: () => ({
        subnets: [parseCidr(mgr.bridge.subnet)],
        subnets6: mgr.bridge.ipv6 ? [parseCidr6(mgr.bridge.ipv6.subnet)] : [],
        bridges: [mgr.bridge.name],
      }),
      syncFirewall: () => mgr.syncFirewall(),
      hostResolvConf: opts.hostResolvConf,
      logger: log,
    });
    mgr.catalog = new NetworkCatalog({
      defaultBridge: record,
      predefined: await predefinedRecords(records, networksDir),
      users: mgr.users,
      defaultMtu: mtu,
      logger: log,
    });
    await Promise.all([
      ipBatch(bridgePlan)
        .then(() => enableRouteLocalnet(bridgeName))
        .then(() => bridgeIPv6(bridgeName, link, record.ipv6)),
      enableIPForward(),
      mgr.users.open(userRecords, links),
    ]);
    await mgr.syncFirewall();
    await mgr.writer.save();
    log.info(
      { bridge: bridgeName, subnet: subnetText, gateway: gatewayText, endpoints: allocator.size },
      'default bridge ready',
    );
    return mgr;
  }

  /** Rebuild our chains for every bridge network, in one iptables-restore transaction. */
  syncFirewall(): Promise<void> {
    return this.locks.run(' firewall', async () => {
      const specs: BridgeRuleSpec[] = [
        {
          bridge: this.bridge.name,
          subnet: this.bridge.subnet,
          ports: portRules(Object.values(this.record.endpoints)),
        },
        // macvlan networks have no bridge, and their traffic never crosses the host's FORWARD.
        ...this.users
          .all()
          .filter((n) => n.isBridge)
          .map((n) => ({
            ...n.ruleSpec(),
            dnsPort: this.users.dns.portFor(n.record.gateway),
          })),
      ];
      await iptablesRestore(setupRestoreInput(this.chains, specs, await iptablesSave()));
      // ip6tables only while a dual-stack network exists (and once at start, to clear
      // chains a crash left): no cost on the start path otherwise.
      const wantV6 =
        this.record.ipv6 !== undefined ||
        this.users.all().some((n) => n.record.user?.ipv6 !== undefined);
      if (wantV6 || this.v6Chains !== false) {
        const saved6 = await iptablesSave(6);
        await iptablesRestore(
          wantV6
            ? setupRestoreInput6(this.chains, specs, saved6)
            : teardownRestoreInput(this.chains, saved6, ['filter']),
          6,
        );
        this.v6Chains = wantV6;
      }
    });
  }

  // ---- networks (the /networks API: catalog.ts) ----------------------------------------------

  createNetwork(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    return this.users.create(req);
  }

  listNetworks(
    filters: Map<string, string[]>,
    names: (cid: string) => string | undefined,
  ): NetworkResource[] {
    return this.catalog.list(filters, names);
  }

  inspectNetwork(ref: string, names: (cid: string) => string | undefined): NetworkResource {
    return this.catalog.inspect(ref, names);
  }

  resolveNetwork(ref: string): { id: string; name: string; builtin: boolean } {
    return this.catalog.resolve(ref);
  }

  removeNetwork(ref: string): Promise<void> {
    return this.catalog.remove(ref);
  }

  pruneNetworks(filters: Map<string, string[]>): Promise<NetworkPruneResponse> {
    return this.catalog.prune(filters);
  }

  // ---- containers on user-defined networks --------------------------------------------------

  /** A renamed container answers to its new name on every network (as Docker's DNS). */
  async renameContainer(id: string, oldName: string, newName: string): Promise<void> {
    for (const net of this.users.all()) {
      const ep = net.endpointRecord(id);
      if (!ep?.dnsNames) continue;
      ep.dnsNames = ep.dnsNames.map((n) => (n === oldName ? newName : n));
      await net.save();
    }
  }

  /** The containers module's view (NetworkPort): see attach.ts. */
  planNetworks(
    mode: string,
    endpoints: Record<string, unknown> | null | undefined,
  ): PlannedAttachment[] {
    return planAttachments(this, mode, endpoints);
  }

  /** Check a new container's -p/-P (create answers 400 for a bad one, as dockerd). */
  checkPorts(publish: PublishRequest): void {
    portRequests(publish.bindings, publish.publishAll, publish.exposed);
  }

  attach(id: string, req: AttachRequest): Promise<Attached> {
    return attachContainer(this, checkId(id), req);
  }

  publishPorts(
    id: string,
    primary: string,
    publish: PublishRequest,
  ): Promise<Record<string, Array<{ HostIp: string; HostPort: string }> | null>> {
    return publishContainerPorts(this, checkId(id), primary, publish);
  }

  detach(id: string): Promise<void> {
    return detachContainer(this, id);
  }

  /** The user-defined network `ref` (ID, name or prefix); the default bridge is not one. */
  userNetwork(ref: string): UserBridge {
    const net = this.users.find(ref);
    if (!net) throw notFound(`network ${ref} not found`);
    return net;
  }

  /** Give the container's namespace an interface (opts.ifName) on user-defined network `ref`. */
  connectTo(
    ref: string,
    id: string,
    netnsPath: string,
    opts: ConnectOptions,
  ): Promise<{ endpoint: Endpoint; networkName: string; aliases: string[] }> {
    checkId(id);
    batchToken(netnsPath, 'netns path');
    checkIfName(opts.ifName);
    checkMac(opts.mac);
    const net = this.userNetwork(ref);
    return net
      .connect(id, netnsPath, opts)
      .then((endpoint) => ({ endpoint, networkName: net.name, aliases: opts.aliases ?? [] }));
  }

  /** Remove the container's interface on a user-defined network (`ref`); idempotent. */
  async disconnectFrom(ref: string, id: string): Promise<void> {
    const net = this.users.find(ref);
    if (!net) return;
    const hadPorts = (net.endpointRecord(id)?.ports?.length ?? 0) > 0;
    if (hadPorts) this.proxies.release(id);
    await net.disconnect(id);
    if (hadPorts) await this.syncFirewall();
  }

  /** Remove the container's default-bridge endpoint (`network disconnect bridge`); idempotent. */
  async disconnectDefault(id: string): Promise<void> {
    const hadPorts = (this.record.endpoints[id]?.ports?.length ?? 0) > 0;
    if (hadPorts) this.proxies.release(id);
    await this.disconnect(id);
    if (hadPorts) await this.syncFirewall();
  }

  /** Free every endpoint the container holds (default bridge and user-defined networks). */
  async disconnectAll(id: string): Promise<void> {
    const hadPorts = this.hasPorts(id);
    this.proxies.release(id);
    this.users.dns.unlistenInNetns(id);
    const background = (p: Promise<unknown>): void => this.background(p);
    await Promise.all([
      this.disconnect(id),
      ...this.users.all().map((n) => n.disconnect(id, { background })),
    ]);
    // The DNAT rules go with the endpoints (the chains are rebuilt from what remains).
    if (hadPorts) await this.syncFirewall();
  }

  private hasPorts(id: string): boolean {
    const eps = [this.record.endpoints[id], ...this.users.all().map((n) => n.endpointRecord(id))];
    return eps.some((ep) => (ep?.ports?.length ?? 0) > 0);
  }

  /**
   * Publish ports to the container's endpoint on `network` ('bridge': the default bridge):
   * hold each host port (a taken one is an error here, before the container runs), record the
   * mappings with the endpoint, then add the DNAT rules. All or nothing.
   */
  async publish(id: string, network: string, reqs: readonly PortRequest[]): Promise<PortMapping[]> {
    if (reqs.length === 0) return [];
    const user = network === DEFAULT_NETWORK_NAME ? undefined : this.users.find(network);
    const ep = user ? user.endpointRecord(id) : this.record.endpoints[id];
    if (!ep) throw internal(`container ${id} has no endpoint on ${network} to publish ports on`);
    // Nothing to publish on an internal network, nor on a macvlan one (the host cannot reach
    // its own macvlan children through their parent; dockerd ignores ports there too).
    if (user?.internal || (user && !user.isBridge)) return [];
    const mappings = await this.proxies.bind(id, proxyTarget(ep), reqs);
    ep.ports = mappings;
    try {
      await (user ? user.save() : this.writer.save());
      await this.syncFirewall();
    } catch (err) {
      this.proxies.release(id);
      delete ep.ports;
      throw err;
    }
    return mappings;
  }

  /** The namespace file for a container (whether or not it exists). */
  netnsPath(id: string): string {
    return netns.netnsFile(this.netnsDir, checkId(id));
  }

  /** A persistent network namespace with its loopback up, at <execRoot>/netns/<id>. */
  async createNetns(id: string): Promise<string> {
    const file = this.netnsPath(id);
    await netns.createNetns(file);
    return file;
  }

  /** Unmount and delete a container's namespace; idempotent. */
  async removeNetns(id: string): Promise<void> {
    await netns.removeNetns(this.netnsPath(id));
  }

  /** The interface the container's default-bridge endpoint has inside it, if connected. */
  defaultIfName(id: string): string | undefined {
    const ep = this.record.endpoints[id];
    return ep && (ep.ifName ?? CONTAINER_IFNAME);
  }

  /** The container's endpoint on the default bridge, if connected. */
  endpoint(id: string): Endpoint | undefined {
    const ep = this.record.endpoints[id];
    return ep && this.toEndpoint(ep);
  }

  /**
   * Connect a container's namespace to the default bridge as eth0 (or `ifName`, for a
   * `network connect bridge` into a namespace that already has interfaces): allocate the lowest
   * free address, create the veth pair (host end on the bridge), address it, and route via the
   * gateway unless `defaultRoute` is false (the namespace already has its way out).
   */
  connect(
    id: string,
    netnsPath: string,
    opts: { mac?: string; ifName?: string; defaultRoute?: boolean } = {},
  ): Promise<Endpoint> {
    checkId(id);
    const ifName = checkIfName(opts.ifName ?? CONTAINER_IFNAME);
    if (!path.isAbsolute(netnsPath)) {
      throw invalidArgument(`netns path must be absolute: ${netnsPath}`);
    }
    batchToken(netnsPath, 'netns path');
    checkMac(opts.mac);
    return this.locks.run(id, async () => {
      const rec = this.reserve(id, opts.mac);
      if (ifName !== CONTAINER_IFNAME) rec.ifName = ifName;
      // The allocation is durable before the address is configured (a crash in between leaves
      // at worst an address held for a dead container, which reconcile frees); the fsync runs
      // while the host side is being built.
      const saved = this.writer.save();
      try {
        await Promise.all([
          saved,
          ipBatch(
            hostVethLines({
              hostVeth: rec.hostVeth,
              bridge: this.bridge.name,
              ifName,
              mtu: this.mtu,
              macAddress: rec.macAddress,
              netnsPath,
            }),
          ),
        ]);
        const plan = this.ifPlan(rec);
        if (opts.defaultRoute === false) {
          delete plan.gateway;
          if (plan.ipv6) delete plan.ipv6.gateway;
        }
        await ipBatch(containerIfLines(plan), { netnsPath });
      } catch (err) {
        await saved.catch(() => undefined);
        throw await this.unreserve(id, rec, err);
      }
      return this.toEndpoint(rec);
    });
  }

  /**
   * A container's namespace, connected to the default bridge. With spareNetns (and no MAC
   * asked for), the spare namespace made ahead of need is adopted: its endpoint is moved to
   * the container, a symlink <id> → spare-<hex> names it, and another spare is started.
   * Otherwise one is built now (build()).
   */
  async createNetnsConnected(
    id: string,
    opts: { mac?: string } = {},
  ): Promise<{ netnsPath: string; endpoint: Endpoint }> {
    checkId(id);
    checkMac(opts.mac);
    const spare = opts.mac === undefined ? this.spare : undefined;
    if (spare) {
      this.spare = undefined;
      const adopted = (await spare.ready) ? await this.adopt(spare.key, id) : undefined;
      this.spareSoon();
      if (adopted) return adopted;
    }
    try {
      return await this.build(id, opts.mac);
    } finally {
      this.spareSoon();
    }
  }

  /**
   * The next spare is made when the start that took this one waits on runc (spareTime), not
   * at once: its two processes' forks would stall the daemon's event loop in the middle of
   * that start (~4 ms of its user lookup and spec). A start that never gets that far leaves
   * it to a timer.
   */
  private spareSoon(): void {
    if (!this.spareNetns || this.spare || this.closed || this.spareTimer) return;
    this.spareTimer = setTimeout(() => this.spareTime(), SPARE_FALLBACK_MS);
    this.spareTimer.unref();
  }

  spareTime(): void {
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spareTimer = undefined;
    this.fillSpare();
  }

  /** Start making a spare namespace when spareNetns is on and there is none. */
  private fillSpare(): void {
    if (!this.spareNetns || this.spare || this.closed) return;
    const key = `spare-${randomBytes(8).toString('hex')}`;
    const ready = this.build(key).then(
      () => true,
      (err: unknown) => {
        this.log.warn({ err: errorMessage(err) }, 'preparing a spare network namespace');
        return false;
      },
    );
    this.spare = { key, ready };
    this.background(ready);
  }

  /** Move the spare's endpoint and namespace to container `id`; undefined if it cannot be. */
  private adopt(
    key: string,
    id: string,
  ): Promise<{ netnsPath: string; endpoint: Endpoint } | undefined> {
    return this.locks.run(id, async () => {
      const rec = this.record.endpoints[key];
      const ip = this.allocator.get(key);
      const ip6 = this.allocator6?.get(key);
      if (!rec || ip === undefined) return undefined;
      if (this.record.endpoints[id]) {
        throw conflict(`endpoint with name ${id} already exists in network ${this.record.name}`);
      }
      const file = this.netnsPath(id);
      try {
        await fsp.symlink(key, file);
      } catch (err) {
        // The container already has a namespace file (not ours to touch): build() reports it.
        this.background(this.disconnect(key).then(() => this.removeNetns(key)));
        this.log.debug({ container: id, err: errorMessage(err) }, 'spare namespace not adopted');
        return undefined;
      }
      delete this.record.endpoints[key];
      this.allocator.release(key);
      this.allocator6?.release(key);
      this.record.endpoints[id] = rec;
      this.allocator.allocate(id, ip);
      if (ip6 !== undefined) this.allocator6?.allocate(id, ip6);
      // Written before the container runs in it (after a daemon crash, reconcile keeps what a
      // live container's record names and frees a spare nobody adopted), but not synced: a
      // kill -9 keeps the page cache, and a power loss takes the container with it, so that
      // reconcile frees its endpoint whichever record reached the disk. This save is on the
      // path of every start on the default bridge.
      await this.writer.save({ durable: false });
      return { netnsPath: file, endpoint: this.toEndpoint(rec) };
    });
  }

  /**
   * createNetns + connect in two processes instead of three: one `unshare … ip -batch` makes
   * the namespace and, from inside it, the veth pair (host end sent to our namespace), the
   * address and the route; one host-side `ip` puts the host end on the bridge.
   */
  private build(id: string, mac?: string): Promise<{ netnsPath: string; endpoint: Endpoint }> {
    const file = this.netnsPath(id);
    return this.locks.run(id, async () => {
      const rec = this.reserve(id, mac);
      // As in connect(): the allocation's fsync runs while the devices are made; both are done
      // before we return, so the allocation is durable before the container runs with it. A
      // crash in between leaves a namespace and a veth that reconcile() frees.
      const saved = this.writer.save();
      try {
        await Promise.all([
          saved,
          netns
            .createNetns(
              file,
              containerVethLines({
                ifName: CONTAINER_IFNAME,
                hostVeth: rec.hostVeth,
                mtu: this.mtu,
                macAddress: rec.macAddress,
                hostNetnsPath: `/proc/${process.pid}/ns/net`,
              }).concat(containerIfLines(this.ifPlan(rec))),
            )
            .then(() => ipBatch(attachLines(rec.hostVeth, this.bridge.name))),
        ]);
      } catch (err) {
        await saved.catch(() => undefined);
        // A conflict means the namespace already existed: not ours to remove.
        if (errorKind(err) !== 'conflict') {
          await netns.removeNetns(file).catch(() => undefined);
        }
        throw await this.unreserve(id, rec, err);
      }
      return { netnsPath: file, endpoint: this.toEndpoint(rec) };
    });
  }

  /** Allocate an address and record the endpoint (caller holds the container's lock). */
  private reserve(id: string, mac: string | undefined): EndpointRecord {
    if (this.record.endpoints[id]) {
      throw conflict(`endpoint with name ${id} already exists in network ${this.record.name}`);
    }
    const ip = this.allocator.allocate(id);
    const endpointId = randomBytes(32).toString('hex');
    const rec: EndpointRecord = {
      endpointId,
      ipAddress: formatIPv4(ip),
      macAddress: (mac ?? macFromIPv4(ip)).toLowerCase(),
      hostVeth: hostVethName(endpointId),
    };
    const a6 = this.allocator6;
    if (a6) {
      try {
        // As dockerd: with 48 host bits or more the address carries the MAC, else IPAM's
        // lowest free one.
        const wanted =
          a6.subnet.prefixLen <= 80 ? macDerivedIPv6(a6.subnet, rec.macAddress) : undefined;
        rec.ipv6Address = formatIPv6(a6.allocate(id, wanted));
      } catch (err) {
        this.allocator.release(id);
        throw err;
      }
    }
    this.record.endpoints[id] = rec;
    return rec;
  }

  /** Undo reserve() and whatever devices a failed connect made; returns the error to throw. */
  private async unreserve(id: string, rec: EndpointRecord, cause: unknown): Promise<Error> {
    await deleteLinks([rec.hostVeth]).catch((e: unknown) =>
      this.log.warn({ container: id, err: errorMessage(e) }, 'cleaning up a failed connect'),
    );
    delete this.record.endpoints[id];
    this.allocator.release(id);
    this.allocator6?.release(id);
    await this.writer
      .save()
      .catch((e: unknown) =>
        this.log.error({ container: id, err: errorMessage(e) }, 'persisting a released address'),
      );
    if (errorKind(cause) === 'conflict' && cause instanceof Error) return cause;
    return internal(
      `connecting container ${id} to network ${this.record.name}: ${errorMessage(cause)}`,
      cause,
    );
  }

  private ifPlan(rec: EndpointRecord): ContainerIfPlan {
    const v6 = this.bridge.ipv6;
    return {
      ifName: rec.ifName ?? CONTAINER_IFNAME,
      address: `${rec.ipAddress}/${this.bridge.prefixLen}`,
      gateway: this.bridge.gateway,
      ...(v6 && rec.ipv6Address
        ? { ipv6: { address: `${rec.ipv6Address}/${v6.prefixLen}`, gateway: v6.gateway } }
        : {}),
    };
  }

  /**
   * Remove the container's endpoint; idempotent. The record change is queued at once; deleting
   * the veth costs the kernel 20-40 ms of RCU grace periods, so both finish in the background
   * (await settled() to wait). A crash before they land leaves at worst an address held for a
   * dead container and a veth nobody owns, which reconcile() frees. The address stays held
   * until the veth is gone, so no new container gets it while the old port, with the same
   * derived MAC, is still on the bridge.
   */
  async disconnect(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const rec = this.record.endpoints[id];
      if (!rec) return;
      delete this.record.endpoints[id];
      const ip = this.allocator.get(id);
      const ip6 = this.allocator6?.get(id);
      this.allocator.release(id);
      this.allocator6?.release(id);
      const holder = `endpoint:${rec.endpointId}`;
      if (ip !== undefined) this.allocator.allocate(holder, ip);
      if (ip6 !== undefined) this.allocator6?.allocate(holder, ip6);
      this.background(
        this.writer
          .save()
          .catch((err: unknown) =>
            this.log.error(
              { container: id, err: errorMessage(err) },
              'persisting a released address',
            ),
          ),
      );
      this.background(
        deleteLinks([rec.hostVeth])
          .catch((err: unknown) =>
            // The next start's reconcile deletes veths on our bridge that no endpoint owns.
            this.log.warn(
              { container: id, veth: rec.hostVeth, err: errorMessage(err) },
              'deleting veth',
            ),
          )
          .finally(() => {
            this.allocator.release(holder);
            this.allocator6?.release(holder);
          }),
      );
    });
  }

  private background(p: Promise<unknown>): void {
    const tracked: Promise<void> = p.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /** Resolves when the work disconnect() left in the background (veth deletion, record write) is done. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * At daemon start: free the endpoints and namespaces of containers not in `liveIds`, and
   * delete veths on our bridge that no live endpoint owns (left by a crash mid-connect).
   */
  async reconcile(liveIds: ReadonlySet<string>): Promise<void> {
    await this.settled();
    const freed = await dropDeadEndpoints(
      this.bridge.name,
      this.record.endpoints,
      (cid) => {
        this.allocator.release(cid);
        this.allocator6?.release(cid);
      },
      liveIds,
    );
    await this.writer.save();
    for (const net of this.users.all()) {
      const n = await net.reconcile(liveIds).catch((err: unknown) => {
        this.log.warn({ network: net.name, err: errorMessage(err) }, 'reconciling a network');
        return 0;
      });
      if (n > 0) this.log.info({ network: net.name, freed: n }, 'reconciled network endpoints');
    }

    // A live container's namespace may be a symlink to the spare it adopted: keep both. A
    // symlink is removed with its target, so only names nothing live points to go.
    const names = await netns.listNetns(this.netnsDir);
    const links = await netns.netnsLinks(
      this.netnsDir,
      names.filter((n) => liveIds.has(n)),
    );
    const keep = new Set([...liveIds, ...links.values()]);
    const deadNs = names.filter((n) => !keep.has(n));
    for (const n of deadNs) await netns.removeNetns(path.join(this.netnsDir, n));
    // Published ports: the rules are rebuilt from the endpoints that remain (a dead
    // container's rules go), and the live ones' host ports are held again.
    await this.syncFirewall();
    const live: Array<[string, EndpointRecord]> = [
      ...Object.entries(this.record.endpoints),
      ...this.users.all().flatMap((n) => Object.entries(n.record.endpoints)),
    ];
    for (const [cid, ep] of live) {
      if (ep.ports && ep.ports.length > 0)
        await this.proxies.restore(cid, proxyTarget(ep), ep.ports);
      // The resolver socket inside a macvlan container's namespace died with the old daemon.
      if (ep.netnsDns && ep.netnsPath) await this.users.dns.listenInNetns(cid, ep.netnsPath);
    }
    if (freed + deadNs.length > 0) {
      this.log.info({ endpointsAndVeths: freed, netns: deadNs.length }, 'reconciled network state');
    }
    this.fillSpare();
  }

  /**
   * Daemon shutdown: make no more spares, let background work finish, and free the spare
   * (a namespace nobody uses need not outlive the daemon; a crash leaves it to reconcile()).
   * Containers' namespaces and endpoints stay: their containers keep running.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spareTimer = undefined;
    this.proxies.releaseAll();
    await this.users.dns.close();
    const spare = this.spare;
    this.spare = undefined;
    await this.settled();
    if (spare && (await spare.ready)) {
      await this.disconnect(spare.key);
      await this.removeNetns(spare.key);
      await this.settled();
    }
  }

  /**
   * Delete everything this manager created: veths on the bridge, the bridge, all namespaces
   * under <execRoot>/netns, our chains and jump rules, and the persisted record.
   */
  async teardown(): Promise<void> {
    this.closed = true;
    this.proxies.releaseAll();
    await this.users.dns.close();
    this.spare = undefined;
    await this.settled();
    const veths = await vethsOnBridge(this.bridge.name).catch(() => []);
    await ipBatch(deleteLinkLines([...veths, this.bridge.name]), { force: true }).catch(
      () => undefined,
    );
    for (const net of this.users.all()) {
      await net.removeDevice();
      await deleteRecord(this.networksDir, net.id);
    }
    for (const rec of this.catalog.predefined) await deleteRecord(this.networksDir, rec.id);
    const names = await netns.listNetns(this.netnsDir);
    await Promise.all(names.map((n) => netns.removeNetns(path.join(this.netnsDir, n))));
    await netns.releaseNetnsDir(this.netnsDir);
    await iptablesRestore(teardownRestoreInput(this.chains, await iptablesSave()));
    await iptablesRestore(teardownRestoreInput(this.chains, await iptablesSave(6), ['filter']), 6);
    this.v6Chains = false;
    for (const cid of Object.keys(this.record.endpoints)) {
      delete this.record.endpoints[cid];
      this.allocator.release(cid);
      this.allocator6?.release(cid);
    }
    // Wait for any write in flight before the record goes, so it is not recreated after.
    await this.writer.save();
    await deleteRecord(this.networksDir, this.record.id);
    this.log.info({ bridge: this.bridge.name }, 'default bridge torn down');
  }

  private toEndpoint(rec: EndpointRecord): Endpoint {
    return {
      networkId: this.record.id,
      endpointId: rec.endpointId,
      ipAddress: rec.ipAddress,
      prefixLen: this.bridge.prefixLen,
      gateway: this.bridge.gateway,
      macAddress: rec.macAddress,
      hostVeth: rec.hostVeth,
      ...(this.bridge.ipv6 && rec.ipv6Address
        ? {
            ipv6: {
              address: rec.ipv6Address,
              prefixLen: this.bridge.ipv6.prefixLen,
              gateway: this.bridge.ipv6.gateway,
            },
          }
        : {}),
    };
  }
}

/** Where an endpoint's published ports lead (see PortProxies). */
function proxyTarget(ep: EndpointRecord): ProxyTarget {
  return { v4: ep.ipAddress, ...(ep.ipv6Address ? { v6: ep.ipv6Address } : {}) };
}

/**
 * The default bridge's v6 address: the gateway of fixed-cidr-v6 (no duplicate detection: the
 * bridge is ours, and DAD would hold the address unusable for a second or more); other global
 * v6 addresses on it (an earlier fixed-cidr-v6) go. Nothing to do when v6 is off and there
 * are none.
 */
async function bridgeIPv6(
  bridge: string,
  link: LinkAddrEntry | undefined,
  v6: { subnet: string; gateway: string } | undefined,
): Promise<void> {
  const have = (link?.addr_info ?? [])
    .filter((a) => a.family === 'inet6' && a.scope === 'global')
    .map((a) => `${a.local}/${a.prefixlen}`);
  const want = v6 && `${v6.gateway}/${parseCidr6(v6.subnet).prefixLen}`;
  const lines = have.filter((a) => a !== want).map((a) => `addr del ${a} dev ${bridge}`);
  if (want && !have.includes(want)) lines.push(`addr add ${want} dev ${bridge} nodad`);
  if (want) await enableIPv6(bridge);
  if (lines.length > 0) await ipBatch(lines);
}

async function enableIPForward(): Promise<void> {
  const file = '/proc/sys/net/ipv4/ip_forward';
  if ((await fsp.readFile(file, 'utf8')).trim() !== '1') await fsp.writeFile(file, '1\n');
}
