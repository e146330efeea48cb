import type { NetworkCreateRequest } from '../api-types/index.js';
import { invalidArgument, notFound, notImplemented, WharfError } from '../common/index.js';
import { checkIfName } from './iproute.js';
import { cidrContains, formatCidr, formatIPv4, parseCidr, parseIPv4, type Cidr } from './ipv4.js';
import {
  cidr6Contains,
  formatCidr6,
  formatIPv6,
  parseCidr6,
  parseIPv6,
  type Cidr6,
} from './ipv6.js';

/** The predefined networks: they exist on every daemon and cannot be created or removed. */
export const PREDEFINED_NETWORKS: readonly string[] = ['bridge', 'host', 'none'];

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MTU = 'com.docker.network.driver.mtu';
const KNOWN_BRIDGE_OPTS = new Set([
  OPT_BRIDGE_NAME,
  OPT_ICC,
  OPT_MTU,
  // Accepted and shown, with Docker's defaults being what Wharf does anyway.
  'com.docker.network.bridge.enable_ip_masquerade',
  'com.docker.network.bridge.host_binding_ipv4',
  'com.docker.network.bridge.default_bridge',
  'com.docker.network.container_iface_prefix',
]);

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A validated POST /networks/create, before a subnet is chosen (when none was given). */
export interface NetworkPlan {
  name: string;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  subnet?: Cidr;
  gateway?: number;
  ipRange?: Cidr;
  auxAddresses: Record<string, string>;
  bridgeName?: string;
  mtu?: number;
  icc: boolean;
  /** `--ipv6`: dual stack, with the v6 subnet given (else a random ULA /64 is chosen). */
  ipv6?: IPv6Plan;
  /** `-d macvlan`: the parent interface (none: Wharf makes one) and the mode. */
  macvlan?: { parent?: string; mode: MacvlanMode };
}

/** The v6 half of a dual-stack network's IPAM, as asked. */
export interface IPv6Plan {
  subnet?: Cidr6;
  gateway?: bigint;
  ipRange?: Cidr6;
  /** Reserved addresses by name (formatted). */
  auxAddresses?: Record<string, string>;
}

/**
 * The addresses a network's gateway is taken from when none is given: as dockerd's IPAM, the
 * first of the ip-range (its network address too, unless that is the subnet's own), else the
 * subnet's first host.
 */
export function defaultGateway<T extends number | bigint>(
  subnet: { network: T },
  firstHost: T,
  range: { network: T } | undefined,
): T {
  return range && range.network !== subnet.network ? range.network : firstHost;
}

/** dockerd's refusal of an auxiliary address outside the subnet (its IPAM's "master pool"). */
function auxOutside(k: string, v: string, subnet: string): WharfError {
  return forbidden(`auxiliary address: (${k}:${v}) must belong to the master pool: ${subnet}`);
}

export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

const forbidden = (message: string): WharfError =>
  new WharfError('forbidden', 'ERR_FORBIDDEN', message);

function cidrArg(text: string, what: string): Cidr {
  try {
    return parseCidr(text);
  } catch {
    throw invalidArgument(`invalid ${what}: invalid CIDR address: ${text}`);
  }
}

function ipArg(text: string, what: string): number {
  try {
    return parseIPv4(text);
  } catch {
    throw invalidArgument(`invalid ${what} address: ${text}`);
  }
}

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (
    typeof v !== 'object' ||
    Array.isArray(v) ||
    !Object.values(v).every((x) => typeof x === 'string')
  ) {
    throw invalidArgument(
      `json: cannot unmarshal into Go struct field CreateRequest.${what} of type map[string]string`,
    );
  }
  return { ...(v as Record<string, string>) };
}

/** Check a create request as Docker's daemon does; pure (no look at the host or other networks). */
export function planNetwork(req: NetworkCreateRequest): NetworkPlan {
  if (!req || typeof req !== 'object') throw invalidArgument('network create: empty body');
  const name = req.Name;
  if (typeof name !== 'string' || name === '')
    throw invalidArgument('network name cannot be empty');
  if (PREDEFINED_NETWORKS.includes(name))
    throw forbidden(`${name} is a pre-defined network and cannot be created`);
  if (!NAME.test(name))
    throw invalidArgument(
      `invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  const driver = req.Driver || 'bridge';
  if (driver === 'ipvlan')
    throw notImplemented(
      'network driver ipvlan is not supported here: this kernel has no ipvlan support (ip link add … type ipvlan: Unknown device type)',
    );
  if (driver !== 'bridge' && driver !== 'macvlan') {
    if (['overlay', 'host', 'null'].includes(driver))
      throw notImplemented(`network driver ${driver} is not supported by this Wharf daemon yet`);
    throw notFound(`could not find plugin ${driver} in v1 plugin registry: plugin not found`);
  }
  if (req.EnableIPv4 === false)
    throw invalidArgument('IPv4 cannot be disabled on a bridge network by this Wharf daemon');
  if (req.Ingress) throw forbidden('ingress networks are a swarm feature');
  if (req.ConfigOnly || req.ConfigFrom?.Network)
    throw notImplemented('config-only networks are not supported by this Wharf daemon yet');
  const labels = stringMap(req.Labels, 'Labels');
  const options = stringMap(req.Options, 'Options');
  if (driver === 'macvlan') return planMacvlan(req, name, labels, options);
  for (const k of Object.keys(options)) {
    if (!KNOWN_BRIDGE_OPTS.has(k) && k.startsWith('com.docker.network.'))
      throw invalidArgument(`unknown bridge network option ${k}`);
  }
  const plan: NetworkPlan = {
    name,
    internal: req.Internal === true,
    attachable: req.Attachable === true,
    labels,
    options,
    auxAddresses: {},
    icc: true,
  };
  if (options[OPT_BRIDGE_NAME] !== undefined)
    plan.bridgeName = checkIfName(options[OPT_BRIDGE_NAME], 'bridge name');
  if (options[OPT_ICC] !== undefined) {
    if (!['true', 'false'].includes(options[OPT_ICC]))
      throw invalidArgument(`invalid value for ${OPT_ICC}: ${options[OPT_ICC]}`);
    plan.icc = options[OPT_ICC] === 'true';
  }
  if (options[OPT_MTU] !== undefined) {
    const mtu = Number(options[OPT_MTU]);
    if (!/^\d+$/.test(options[OPT_MTU]) || mtu < 68 || mtu > 65535)
      throw invalidArgument(`invalid MTU value ${options[OPT_MTU]}: must be 68-65535`);
    plan.mtu = mtu;
  }

  const ipam = req.IPAM ?? {};
  if (ipam.Driver && ipam.Driver !== 'default')
    throw notFound(`could not find plugin ${ipam.Driver} in v1 plugin registry: plugin not found`);
  const configs = ipam.Config ?? [];
  const v4 = configs.filter((c) => !(c.Subnet ?? '').includes(':'));
  const v6 = configs.filter((c) => (c.Subnet ?? '').includes(':'));
  // As dockerd 20.10's bridge driver: one subnet per family (v4 + v6 is dual stack).
  if (v4.length > 1 || v6.length > 1)
    throw forbidden("bridge driver doesn't support multiple subnets");
  if (v6.length > 0 && req.EnableIPv6 !== true)
    throw invalidArgument('IPv6 subnets need an IPv6 network: create it with --ipv6');
  if (req.EnableIPv6 === true) plan.ipv6 = planIPv6(v6, name);
  const c = v4[0];
  if (c) {
    if (!c.Subnet) {
      if (c.Gateway || c.IPRange || Object.keys(c.AuxiliaryAddresses ?? {}).length > 0)
        throw invalidArgument('the gateway, ip-range and auxiliary addresses need a subnet');
    } else {
      const subnet = cidrArg(c.Subnet, 'subnet');
      if (formatCidr(subnet) !== c.Subnet)
        throw invalidArgument(`invalid subnet ${c.Subnet}: it should be ${formatCidr(subnet)}`);
      if (subnet.prefixLen > 30)
        throw invalidArgument(`invalid subnet ${c.Subnet}: too small for containers`);
      plan.subnet = subnet;
      if (c.IPRange) {
        const range = cidrArg(c.IPRange, 'ip-range');
        // The docker CLI's words (dockerd itself takes such a range and allocates from it).
        if (!cidrContains(subnet, range.network) || range.prefixLen < subnet.prefixLen)
          throw invalidArgument(`no matching subnet for range ${c.IPRange}`);
        plan.ipRange = range;
      }
      if (c.Gateway) {
        const gw = ipArg(c.Gateway, 'gateway');
        if (!cidrContains(subnet, gw))
          throw invalidArgument(`invalid gateway ${c.Gateway}: not inside subnet ${c.Subnet}`);
        plan.gateway = gw;
      }
      for (const [k, v] of Object.entries(stringMap(c.AuxiliaryAddresses, 'AuxiliaryAddresses'))) {
        let ip: number;
        try {
          ip = parseIPv4(v);
        } catch {
          throw invalidArgument(
            `non parsable secondary ip address (${k}:${v}) passed for network ${name}`,
          );
        }
        if (!cidrContains(subnet, ip)) throw auxOutside(k, v, c.Subnet);
        plan.auxAddresses[k] = formatIPv4(ip);
      }
    }
  }
  return plan;
}

/**
 * The v6 half of a dual-stack network: one subnet, an optional gateway, ip-range and auxiliary
 * addresses inside it (checked as for v4).
 */
function planIPv6(
  configs: NonNullable<NetworkCreateRequest['IPAM']>['Config'],
  name: string,
): IPv6Plan {
  const c = (configs ?? [])[0];
  if (!c?.Subnet) return {};
  let subnet: Cidr6;
  try {
    subnet = parseCidr6(c.Subnet);
  } catch {
    throw invalidArgument(`invalid subnet: invalid CIDR address: ${c.Subnet}`);
  }
  if (parseIPv6(c.Subnet.split('/')[0]!) !== subnet.network)
    throw invalidArgument(`invalid subnet ${c.Subnet}: it should be ${formatCidr6(subnet)}`);
  if (subnet.prefixLen > 126)
    throw invalidArgument(`invalid subnet ${c.Subnet}: too small for containers`);
  const out: IPv6Plan = { subnet };
  if (c.IPRange) {
    let range: Cidr6;
    try {
      range = parseCidr6(c.IPRange);
    } catch {
      throw invalidArgument(`invalid ip-range: invalid CIDR address: ${c.IPRange}`);
    }
    if (!cidr6Contains(subnet, range.network) || range.prefixLen < subnet.prefixLen)
      throw invalidArgument(`no matching subnet for range ${c.IPRange}`);
    out.ipRange = range;
  }
  const aux = stringMap(c.AuxiliaryAddresses, 'AuxiliaryAddresses');
  for (const [k, v] of Object.entries(aux)) {
    let ip: bigint;
    try {
      ip = parseIPv6(v);
    } catch {
      throw invalidArgument(
        `non parsable secondary ip address (${k}:${v}) passed for network ${name}`,
      );
    }
    if (!cidr6Contains(subnet, ip)) throw auxOutside(k, v, c.Subnet);
    (out.auxAddresses ??= {})[k] = formatIPv6(ip);
  }
  if (c.Gateway) {
    let gw: bigint;
    try {
      gw = parseIPv6(c.Gateway);
    } catch {
      throw invalidArgument(`invalid gateway address: ${c.Gateway}`);
    }
    if (!cidr6Contains(subnet, gw) || gw === subnet.network)
      throw invalidArgument(`invalid gateway ${c.Gateway}: not inside subnet ${c.Subnet}`);
    out.gateway = gw;
  }
  return out;
}

/**
 * `-d macvlan -o parent=IF -o macvlan_mode=M`: options checked as dockerd's macvlan driver
 * does, IPAM as for a bridge (the same checks, by planning the request as one). `--internal`
 * or no parent: Wharf makes the parent itself (see macvlan.ts).
 */
function planMacvlan(
  req: NetworkCreateRequest,
  name: string,
  labels: Record<string, string>,
  options: Record<string, string>,
): NetworkPlan {
  const mode = options['macvlan_mode'] ?? 'bridge';
  if (!(MACVLAN_MODES as readonly string[]).includes(mode))
    throw invalidArgument(
      `requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`,
    );
  for (const k of Object.keys(options)) {
    if (k !== 'parent' && k !== 'macvlan_mode')
      throw invalidArgument(`unknown macvlan network option ${k}`);
  }
  const parent = options['parent'];
  if (parent !== undefined) checkIfName(parent, 'parent interface name');
  if (req.EnableIPv6 === true)
    throw notImplemented('IPv6 on macvlan networks is not supported by this Wharf daemon yet');
  // dockerd's macvlan driver takes several subnets; Wharf's does not (yet).
  if ((req.IPAM?.Config ?? []).length > 1)
    throw notImplemented('more than one subnet per macvlan network is not supported by Wharf yet');
  const { Options: _ignored, Driver: _driver, ...rest } = req;
  const base = planNetwork({ ...rest, Name: name, Labels: labels });
  return {
    ...base,
    options,
    macvlan: {
      ...(parent !== undefined && !base.internal ? { parent } : {}),
      mode: mode as MacvlanMode,
    },
  };
}
