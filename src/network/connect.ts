import type { EndpointSettings } from '../api-types/index.js';
import { invalidArgument } from '../common/index.js';
import {
  checkConfig,
  connectPlanned,
  forbidden,
  nextIfName,
  resolve,
  type PlannedAttachment,
} from './attach.js';
import { addHostsLine, removeHostsLine, updateHostsFile } from './etc-hosts.js';
import type { NetworkManager } from './manager.js';
import { endpointSettings } from './views.js';

/**
 * `network connect` / `disconnect` of a container, running or stopped, on user-defined
 * networks and on the default bridge. A running container's namespace gets (or loses) the
 * interface now and its /etc/hosts the matching line; a stopped one's plan changes and takes
 * effect at its next start. The caller holds the container's lock and saves the record.
 */

/** The parts of a container record that network connect/disconnect read and change. */
export interface ContainerNetworks {
  Id: string;
  Name: string;
  State: { Running: boolean };
  HostsPath: string;
  Config: { Hostname?: string };
  HostConfig: { NetworkMode?: string; Dns?: string[] | null };
  NetworkSettings: { SandboxKey: string; Networks: Record<string, EndpointSettings> };
  runtime: {
    networks?: PlannedAttachment[];
    /** On the default bridge; absent means NetworkMode is bridge (set by connect/disconnect). */
    defaultBridge?: boolean;
  };
}

/** Whether the container is (to be) on the default bridge. */
export function onDefaultBridge(c: {
  HostConfig: { NetworkMode?: string };
  runtime: { defaultBridge?: boolean };
}): boolean {
  return c.runtime.defaultBridge ?? (c.HostConfig.NetworkMode ?? 'bridge') === 'bridge';
}

function sharedNamespace(c: ContainerNetworks): string | undefined {
  const mode = c.HostConfig.NetworkMode ?? 'bridge';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return mode;
  return undefined;
}

const live = (c: ContainerNetworks): boolean =>
  c.State.Running && c.NetworkSettings.SandboxKey !== '';

/** Whether the running container already has a way out (so a new interface adds no route). */
function routed(mgr: NetworkManager, c: ContainerNetworks): boolean {
  if (mgr.defaultIfName(c.Id)) return true;
  return (c.runtime.networks ?? []).some((x) => mgr.users.find(x.name)?.internal === false);
}

const hostname = (c: ContainerNetworks): string => c.Config.Hostname || c.Id.slice(0, 12);

/**
 * POST /networks/{id}/connect: a running container gets the interface now (hot-plugged into
 * its namespace), a stopped one at its next start. Changes `c` (the caller saves it).
 */
export async function connectContainer(
  mgr: NetworkManager,
  c: ContainerNetworks,
  ref: string,
  raw: unknown,
): Promise<string> {
  const target = mgr.resolveNetwork(ref);
  if (target.name === 'host' || target.name === 'none')
    throw forbidden(
      `container cannot be disconnected from host network or connected to ${target.name} network`,
    );
  if (sharedNamespace(c))
    throw forbidden(
      'container sharing network namespace with another container or host cannot be connected to any other network',
    );
  const cfg = checkConfig(raw, target.name);
  if (target.builtin) return connectDefault(mgr, c, target.id, cfg);
  const p = resolve(mgr, target.name, cfg);
  const planned = c.runtime.networks ?? [];
  if (planned.some((x) => x.name === p.name) || c.NetworkSettings.Networks[p.name])
    throw forbidden(`endpoint with name ${c.Name.slice(1)} already exists in network ${p.name}`);
  if (live(c)) {
    const r = await connectPlanned(mgr, c.Id, c.NetworkSettings.SandboxKey, p, {
      names: [c.Name.slice(1), c.Id.slice(0, 12)],
      upstreams: c.HostConfig.Dns ?? undefined,
      defaultRoute: !routed(mgr, c),
    });
    c.NetworkSettings.Networks[r.name] = r.settings;
    const v6 = r.settings.GlobalIPv6Address;
    await updateHostsFile(c.HostsPath, (t) => {
      const v4 = addHostsLine(t, r.settings.IPAddress, hostname(c));
      return v6 ? addHostsLine(v4, v6, hostname(c)) : v4;
    });
  }
  c.runtime.networks = [...planned, p];
  return target.id;
}

/** `network connect bridge c`: dockerd's refusals for the default bridge, then eth<N>. */
async function connectDefault(
  mgr: NetworkManager,
  c: ContainerNetworks,
  networkId: string,
  cfg: ReturnType<typeof checkConfig>,
): Promise<string> {
  if (cfg.Aliases && cfg.Aliases.length > 0)
    throw invalidArgument(
      'network-scoped alias is supported only for containers in user defined networks',
    );
  if (cfg.IPAMConfig?.IPv4Address)
    throw invalidArgument('user specified IP address is supported on user defined networks only');
  if (onDefaultBridge(c) || c.NetworkSettings.Networks['bridge'])
    throw forbidden(`endpoint with name ${c.Name.slice(1)} already exists in network bridge`);
  if (live(c)) {
    const endpoint = await mgr.connect(c.Id, c.NetworkSettings.SandboxKey, {
      ifName: nextIfName(mgr, c.Id),
      defaultRoute: !routed(mgr, c),
      ...(cfg.MacAddress ? { mac: cfg.MacAddress } : {}),
    });
    c.NetworkSettings.Networks['bridge'] = endpointSettings(endpoint);
    await updateHostsFile(c.HostsPath, (t) => addHostsLine(t, endpoint.ipAddress, hostname(c)));
  }
  c.runtime.defaultBridge = true;
  return networkId;
}

/** POST /networks/{id}/disconnect: the interface goes now if running. Changes `c`. */
export async function disconnectContainer(
  mgr: NetworkManager,
  c: ContainerNetworks,
  ref: string,
): Promise<string> {
  const target = mgr.resolveNetwork(ref);
  if (target.name === 'host' || target.name === 'none')
    throw forbidden(`container cannot be disconnected from ${target.name} network`);
  const planned = c.runtime.networks ?? [];
  const attached = target.builtin
    ? onDefaultBridge(c) && !sharedNamespace(c)
    : planned.some((x) => x.name === target.name) || !!c.NetworkSettings.Networks[target.name];
  if (!attached)
    throw invalidArgument(`container ${c.Id} is not connected to network ${target.name}`);
  const ep = live(c) ? c.NetworkSettings.Networks[target.name] : undefined;
  const addresses = [ep?.IPAddress, ep?.GlobalIPv6Address].filter((a): a is string => !!a);
  if (target.builtin) {
    await mgr.disconnectDefault(c.Id);
    c.runtime.defaultBridge = false;
  } else {
    await mgr.disconnectFrom(target.name, c.Id);
    c.runtime.networks = planned.filter((x) => x.name !== target.name);
  }
  delete c.NetworkSettings.Networks[target.name];
  if (addresses.length > 0)
    await updateHostsFile(c.HostsPath, (t) =>
      addresses.reduce((text, a) => removeHostsLine(text, a, hostname(c)), t),
    );
  return target.id;
}
