import type {
  EndpointConfigRequest,
  EndpointSettings,
  NetworkEndpointResource,
  NetworkResource,
} from '../api-types/index.js';
import { OPT_BRIDGE_NAME } from './create-plan.js';
import type { NetworkRecord } from './store.js';
import type { Endpoint } from './user-bridge.js';

/** Docker's Options of the default bridge network. */
function defaultBridgeOptions(rec: NetworkRecord, mtu: number): Record<string, string> {
  return {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true',
    'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    [OPT_BRIDGE_NAME]: rec.bridgeName,
    'com.docker.network.driver.mtu': String(mtu),
  };
}

/**
 * A network as GET /networks/{id} shows it. `names` gives container names for the Containers
 * map (only containers the caller says are running have endpoints worth showing).
 */
export function networkView(
  rec: NetworkRecord,
  opts: { defaultMtu: number; containers?: (cid: string) => string | undefined },
): NetworkResource {
  const user = rec.user;
  const ipamConfig =
    rec.driver === 'bridge' || rec.driver === 'macvlan'
      ? [
          {
            Subnet: rec.subnet,
            ...(user?.ipRange ? { IPRange: user.ipRange } : {}),
            ...(user?.macvlan && !user.macvlan.gatewayGiven ? {} : { Gateway: rec.gateway }),
            ...(user?.auxAddresses && Object.keys(user.auxAddresses).length > 0
              ? { AuxiliaryAddresses: { ...user.auxAddresses } }
              : {}),
          },
          ...(user?.ipv6
            ? [
                {
                  Subnet: user.ipv6.subnet,
                  ...(user.ipv6.ipRange ? { IPRange: user.ipv6.ipRange } : {}),
                  Gateway: user.ipv6.gateway,
                  ...(user.ipv6.auxAddresses
                    ? { AuxiliaryAddresses: { ...user.ipv6.auxAddresses } }
                    : {}),
                },
              ]
            : []),
          // The default bridge's fixed-cidr-v6: dockerd shows no gateway for it.
          ...(rec.ipv6 ? [{ Subnet: rec.ipv6.subnet }] : []),
        ]
      : [];
  const containers: Record<string, NetworkEndpointResource> = {};
  if (opts.containers) {
    const prefixLen = rec.subnet.split('/')[1] ?? '';
    const prefixLen6 = (user?.ipv6 ?? rec.ipv6)?.subnet.split('/')[1] ?? '';
    for (const [cid, ep] of Object.entries(rec.endpoints)) {
      const name = opts.containers(cid);
      if (name === undefined) continue;
      containers[cid] = {
        Name: name,
        EndpointID: ep.endpointId,
        MacAddress: ep.macAddress,
        IPv4Address: `${ep.ipAddress}/${prefixLen}`,
        IPv6Address: ep.ipv6Address ? `${ep.ipv6Address}/${prefixLen6}` : '',
      };
    }
  }
  return {
    Name: rec.name,
    Id: rec.id,
    Created: rec.created,
    Scope: 'local',
    Driver: rec.driver,
    EnableIPv4: rec.driver === 'bridge',
    EnableIPv6: (user?.ipv6 ?? rec.ipv6) !== undefined,
    IPAM: {
      Driver: 'default',
      Options: user ? {} : null,
      Config: ipamConfig,
    },
    Internal: user?.internal ?? false,
    Attachable: user?.attachable ?? false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: user
      ? { ...user.options }
      : rec.driver === 'bridge'
        ? defaultBridgeOptions(rec, opts.defaultMtu)
        : {},
    Labels: user ? { ...user.labels } : {},
  };
}

/** A container's entry in NetworkSettings.Networks (Docker's EndpointSettings). */
export function endpointSettings(
  ep: Endpoint,
  opts: {
    ipamConfig?: EndpointConfigRequest['IPAMConfig'];
    aliases?: readonly string[];
    dnsNames?: readonly string[];
  } = {},
): EndpointSettings {
  return {
    IPAMConfig: opts.ipamConfig ?? null,
    Links: null,
    Aliases: opts.aliases && opts.aliases.length > 0 ? [...opts.aliases] : null,
    MacAddress: ep.macAddress,
    NetworkID: ep.networkId,
    EndpointID: ep.endpointId,
    Gateway: ep.gateway,
    IPAddress: ep.ipAddress,
    IPPrefixLen: ep.prefixLen,
    IPv6Gateway: ep.ipv6?.gateway ?? '',
    GlobalIPv6Address: ep.ipv6?.address ?? '',
    GlobalIPv6PrefixLen: ep.ipv6?.prefixLen ?? 0,
    DriverOpts: null,
    DNSNames: opts.dnsNames && opts.dnsNames.length > 0 ? [...opts.dnsNames] : null,
  };
}
