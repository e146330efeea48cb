import { conflict, invalidArgument, notImplemented } from '../common/index.js';

/** A container's HostConfig.NetworkMode, parsed. */
export type NetworkMode =
  | { kind: 'bridge' }
  | { kind: 'none' }
  | { kind: 'host' }
  | { kind: 'container'; container: string };

/**
 * Parse Docker's NetworkMode: '' and 'default' mean the default bridge. User-defined networks
 * come with a later issue and are refused as not implemented until then.
 */
export function parseNetworkMode(mode: string | undefined): NetworkMode {
  const m = mode ?? '';
  if (m === '' || m === 'default' || m === 'bridge') return { kind: 'bridge' };
  if (m === 'none') return { kind: 'none' };
  if (m === 'host') return { kind: 'host' };
  if (m.startsWith('container:')) {
    const container = m.slice('container:'.length);
    if (container === '')
      throw invalidArgument('Invalid network mode: invalid container format container:<name|id>');
    return { kind: 'container', container };
  }
  throw notImplemented(`network ${m} not found: user-defined networks are not supported yet`);
}

/** What of a create request can conflict with sharing another container's namespace. */
export interface SharedNetnsRequest {
  Hostname?: string;
  MacAddress?: string;
  ExposedPorts?: Record<string, unknown> | null;
  HostConfig: {
    NetworkMode?: string;
    Links?: string[] | null;
    Dns?: string[] | null;
    ExtraHosts?: string[] | null;
    PortBindings?: Record<string, unknown> | null;
    PublishAllPorts?: boolean;
  };
  /** NetworkingConfig.EndpointsConfig (API 1.44+ clients send --mac-address there). */
  endpoints?: Record<string, unknown> | null;
}

const nonEmpty = (v: unknown[] | Record<string, unknown> | null | undefined): boolean =>
  v !== null && v !== undefined && Object.keys(v).length > 0;

/**
 * `--network container:<x>`: the options that would configure a namespace the container does
 * not own are refused at create, in dockerd's order and words (--dns-search and --dns-option
 * are accepted, as dockerd does: the shared resolv.conf is the target's). The target itself
 * is looked up at start, as dockerd.
 */
export function checkContainerNetworkMode(req: SharedNetnsRequest): void {
  const mode = req.HostConfig.NetworkMode ?? '';
  if (!mode.startsWith('container:')) return;
  parseNetworkMode(mode);
  const hc = req.HostConfig;
  if (req.Hostname) throw invalidArgument('conflicting options: hostname and the network mode');
  if (nonEmpty(hc.Links))
    throw invalidArgument(
      "conflicting options: container type network can't be used with links. This would result in undefined behavior",
    );
  if (nonEmpty(hc.Dns)) throw invalidArgument('conflicting options: dns and the network mode');
  if (nonEmpty(hc.ExtraHosts))
    throw invalidArgument('conflicting options: custom host-to-IP mapping and the network mode');
  const endpointMac = Object.values(req.endpoints ?? {}).some(
    (e) => typeof e === 'object' && e !== null && !!(e as { MacAddress?: unknown }).MacAddress,
  );
  if (req.MacAddress || endpointMac)
    throw invalidArgument('conflicting options: mac-address and the network mode');
  if (nonEmpty(hc.PortBindings) || hc.PublishAllPorts)
    throw invalidArgument(
      'conflicting options: port publishing and the container type network mode',
    );
  if (nonEmpty(req.ExposedPorts))
    throw invalidArgument('conflicting options: port exposing and the container type network mode');
}

/** The container whose namespace a `container:<x>` joiner enters, as the start needs it. */
export interface NetnsOwner {
  Id: string;
  State: { Running: boolean; Restarting?: boolean; Pid: number };
}

/**
 * The namespace a `container:<x>` container joins at start: the running target's
 * (/proc/<pid>/ns/net works whatever the target's own mode: bridge, none, host, or itself a
 * joiner). dockerd's refusals: itself, a target that is not running.
 */
export function joinedNetns(selfId: string, target: NetnsOwner): string {
  if (target.Id === selfId) throw invalidArgument('cannot join own network');
  if (!target.State.Running || target.State.Pid <= 0)
    throw conflict(`cannot join network of a non running container: ${target.Id}`);
  if (target.State.Restarting)
    throw conflict(`Container ${target.Id} is restarting, wait until the container is running`);
  return `/proc/${target.State.Pid}/ns/net`;
}
