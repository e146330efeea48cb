import type { EndpointConfigRequest, EndpointSettings } from '../api-types/index.js';
import { invalidArgument, WharfError } from '../common/index.js';
import { NETNS_RESOLVER } from './dns-netns.js';
import type { NetworkManager } from './manager.js';
import { portRequests, portsView } from './ports.js';
import { endpointSettings } from './views.js';

/**
 * A container's network attachments, as the containers module asks for them: which networks
 * a container is on (planned at create, kept in its record), and the namespace with one
 * interface per network made at start (eth0, eth1, … in order), or hot-plugged by
 * `network connect`.
 */

/** A user-defined network a container is to be on, with what it asked of the endpoint. */
export interface PlannedAttachment {
  /** The network's name (the key of NetworkSettings.Networks). */
  name: string;
  config: EndpointConfigRequest;
}

export interface AttachRequest {
  /** eth0 on the default bridge first (NetworkMode bridge). */
  defaultBridge: boolean;
  networks: readonly PlannedAttachment[];
  /** Container name and short ID: what the embedded DNS answers for, with the aliases. */
  names: readonly string[];
  /** --dns: where the embedded DNS forwards this container's other queries. */
  upstreams?: readonly string[];
}

export interface PublishRequest {
  bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined;
  publishAll: boolean;
  exposed: Record<string, unknown> | null | undefined;
}

export interface Attached {
  netnsPath: string;
  /** The network ports are published on (the first one), '' when there is none. */
  primary: string;
  networks: Record<string, EndpointSettings>;
  /** The first network's address and gateway (/etc/hosts, host.docker.internal). */
  ip: string;
  gateway: string;
  /** The embedded DNS's address when the container is on a user-defined network. */
  dnsServer?: string;
}

export const forbidden = (message: string): WharfError =>
  new WharfError('forbidden', 'ERR_FORBIDDEN', message);

const BUILTIN = new Set(['bridge', 'host', 'none', 'default']);

export function checkConfig(c: unknown, network: string): EndpointConfigRequest {
  if (c === undefined || c === null) return {};
  if (typeof c !== 'object' || Array.isArray(c))
    throw invalidArgument(`invalid endpoint settings for network ${network}`);
  const cfg = c as EndpointConfigRequest;
  if (
    cfg.Aliases &&
    !(Array.isArray(cfg.Aliases) && cfg.Aliases.every((a) => typeof a === 'string'))
  )
    throw invalidArgument('invalid endpoint settings: Aliases must be a list of strings');
  return cfg;
}

/**
 * The user-defined networks a new container is on: NetworkMode's network, then any other
 * EndpointsConfig entries (API 1.44+ accepts several at create). Docker's refusals for the
 * default networks (no --ip, no aliases) are kept.
 */
export function planAttachments(
  mgr: NetworkManager,
  mode: string,
  endpoints: Record<string, unknown> | null | undefined,
): PlannedAttachment[] {
  const out: PlannedAttachment[] = [];
  const entries = Object.entries(endpoints ?? {});
  for (const [key, raw] of entries) {
    const cfg = checkConfig(raw, key);
    if (BUILTIN.has(key) || key.startsWith('container:')) {
      if (cfg.Aliases && cfg.Aliases.length > 0)
        throw invalidArgument(
          'network-scoped alias is supported only for containers in user defined networks',
        );
      if (cfg.IPAMConfig?.IPv4Address || cfg.IPAMConfig?.IPv6Address)
        throw invalidArgument(
          'user specified IP address is supported on user defined networks only',
        );
    }
  }
  if (BUILTIN.has(mode) || mode.startsWith('container:')) {
    if (mode === 'bridge' || mode === 'default') {
      // A bridge container may also name user-defined networks (API 1.44+).
      for (const [key, raw] of entries) {
        if (BUILTIN.has(key)) continue;
        out.push(plan(mgr, key, checkConfig(raw, key)));
      }
    }
    return out;
  }
  const modeId = mgr.users.find(mode)?.id;
  const sameNetwork = (k: string): boolean => {
    try {
      return modeId !== undefined && mgr.users.find(k)?.id === modeId;
    } catch {
      return false;
    }
  };
  const own = entries.find(([k]) => k === mode) ?? entries.find(([k]) => sameNetwork(k));
  out.push(plan(mgr, mode, checkConfig(own?.[1], mode)));
  for (const [key, raw] of entries) {
    if (own && key === own[0]) continue;
    if (BUILTIN.has(key))
      throw invalidArgument(
        `a container on ${mode} cannot also be on the predefined network ${key}`,
      );
    const p = plan(mgr, key, checkConfig(raw, key));
    if (!out.some((o) => o.name === p.name)) out.push(p);
  }
  return out;
}

/**
 * A network a new container names. One that does not exist (yet) is kept by name: as dockerd,
 * the container is created and its start fails with 404 (a 404 at create would make the
 * docker CLI take it for a missing image and try to pull it).
 */
function plan(mgr: NetworkManager, ref: string, config: EndpointConfigRequest): PlannedAttachment {
  if (!mgr.users.find(ref)) return { name: ref, config };
  return resolve(mgr, ref, config);
}

export function resolve(
  mgr: NetworkManager,
  ref: string,
  config: EndpointConfigRequest,
): PlannedAttachment {
  const net = mgr.userNetwork(ref);
  const ip = config.IPAMConfig?.IPv4Address;
  const ip6 = config.IPAMConfig?.IPv6Address;
  if ((ip && !net.record.user?.ipamConfigured) || (ip6 && !net.record.user?.ipv6?.ipamConfigured))
    throw invalidArgument(
      'user specified IP address is supported only when connecting to networks with user configured subnets',
    );
  return { name: net.name, config };
}

/** eth0, eth1, …: the lowest name none of the container's endpoints uses. */
export function nextIfName(mgr: NetworkManager, id: string): string {
  const used = new Set<string>();
  const onDefault = mgr.defaultIfName(id);
  if (onDefault) used.add(onDefault);
  for (const n of mgr.users.all()) {
    const ep = n.endpointRecord(id);
    if (ep) used.add(ep.ifName ?? 'eth0');
  }
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}

function dnsNames(names: readonly string[], aliases: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of [names[0], ...aliases, ...names.slice(1)]) if (n && !out.includes(n)) out.push(n);
  return out;
}

/** Connect a namespace to user-defined network `p` as the next ethN. */
export async function connectPlanned(
  mgr: NetworkManager,
  id: string,
  netnsPath: string,
  p: PlannedAttachment,
  req: {
    names: readonly string[];
    upstreams?: readonly string[];
    defaultRoute: boolean;
    /** Make the namespace with this first interface (see ConnectOptions.createNetns). */
    createNetns?: boolean;
  },
): Promise<{
  name: string;
  settings: EndpointSettings;
  gateway: string;
  internal: boolean;
  /** A bridge of ours: its gateway is the host, and the embedded DNS listens there. */
  hostGateway: boolean;
}> {
  const aliases = p.config.Aliases ?? [];
  const names = dnsNames(req.names, aliases);
  const net = mgr.userNetwork(p.name);
  const { endpoint } = await mgr.connectTo(p.name, id, netnsPath, {
    ifName: nextIfName(mgr, id),
    ipv4Address: p.config.IPAMConfig?.IPv4Address || undefined,
    ipv6Address: p.config.IPAMConfig?.IPv6Address || undefined,
    mac: p.config.MacAddress || undefined,
    aliases,
    dnsNames: names,
    upstreams: req.upstreams ? [...req.upstreams] : undefined,
    defaultRoute: req.defaultRoute,
    createNetns: req.createNetns,
  });
  return {
    name: net.name,
    gateway: endpoint.gateway,
    internal: net.internal,
    hostGateway: net.isBridge,
    settings: endpointSettings(endpoint, {
      ipamConfig: p.config.IPAMConfig ?? undefined,
      aliases,
      dnsNames: names,
    }),
  };
}

/**
 * The container's namespace with all its interfaces. On failure everything made is undone
 * (endpoints freed, namespace removed) and the error is thrown. Ports are published apart
 * (publishContainerPorts), when the container is about to run: a namespace may be made for a
 * container that is only created (see the containers module's early task), and a created
 * container holds no host port.
 */
export async function attachContainer(
  mgr: NetworkManager,
  id: string,
  req: AttachRequest,
): Promise<Attached> {
  const networks: Record<string, EndpointSettings> = {};
  let netnsPath: string;
  let ip = '';
  let gateway = '';
  let dnsServer: string | undefined;
  let primary = '';
  if (req.defaultBridge) {
    primary = 'bridge';
    const c = await mgr.createNetnsConnected(id);
    netnsPath = c.netnsPath;
    ip = c.endpoint.ipAddress;
    gateway = c.endpoint.gateway;
    networks['bridge'] = endpointSettings(c.endpoint);
  } else if (req.networks.length === 0) {
    netnsPath = await mgr.createNetns(id);
  } else {
    // Made with the first network's interface, below.
    netnsPath = mgr.netnsPath(id);
  }
  try {
    // The default route goes through the first network that has a way out.
    let routed = req.defaultBridge;
    for (const p of req.networks) {
      const net = mgr.userNetwork(p.name);
      const r = await connectPlanned(mgr, id, netnsPath, p, {
        names: req.names,
        upstreams: req.upstreams,
        defaultRoute: !routed && !net.internal,
        createNetns: !req.defaultBridge && p === req.networks[0],
      });
      if (!net.internal) routed = true;
      networks[r.name] = r.settings;
      if (!ip) {
        ip = r.settings.IPAddress;
        // host.docker.internal: only a bridge's gateway is the host (a macvlan one is not).
        gateway = r.hostGateway ? r.gateway : '';
        primary = r.name;
      }
      if (r.hostGateway) dnsServer ??= r.gateway;
    }
    // No bridge network to serve names from its gateway, but a network whose gateway is not
    // the host (macvlan): the resolver answers on 127.0.0.11 inside the namespace.
    const viaNetns = !dnsServer && req.networks.find((p) => !mgr.userNetwork(p.name).isBridge);
    if (viaNetns && (await mgr.users.dns.listenInNetns(id, netnsPath))) {
      dnsServer = NETNS_RESOLVER;
      const net = mgr.userNetwork(viaNetns.name);
      const ep = net.endpointRecord(id);
      if (ep) {
        ep.netnsDns = true;
        await net.save();
      }
    }
    return { netnsPath, primary, networks, ip, gateway, ...(dnsServer ? { dnsServer } : {}) };
  } catch (err) {
    await detachContainer(mgr, id).catch(() => undefined);
    throw err;
  }
}

/**
 * -p / -P for an attached container, on network `primary` (none: nothing is published, the
 * exposed ports are still listed). What NetworkSettings.Ports shows.
 */
export async function publishContainerPorts(
  mgr: NetworkManager,
  id: string,
  primary: string,
  publish: PublishRequest,
): Promise<Record<string, Array<{ HostIp: string; HostPort: string }> | null>> {
  const reqs = portRequests(publish.bindings, publish.publishAll, publish.exposed);
  const mappings = primary ? await mgr.publish(id, primary, reqs) : [];
  return portsView(mappings, publish.exposed);
}

/** Free all the container's endpoints and its namespace; idempotent. */
export async function detachContainer(mgr: NetworkManager, id: string): Promise<void> {
  let first: unknown;
  await mgr.disconnectAll(id).catch((err: unknown) => (first ??= err));
  await mgr.removeNetns(id).catch((err: unknown) => (first ??= err));
  if (first !== undefined) throw first;
}
