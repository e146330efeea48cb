import { invalidArgument } from '../common/index.js';
import { parseIPv4 } from './ipv4.js';
import { formatIPv6, parseIPv6 } from './ipv6.js';

/**
 * Published ports, as pure data: what a container's HostConfig asks (PortBindings, and
 * PublishAllPorts over its ExposedPorts), and the shapes Docker shows for what was bound
 * (NetworkSettings.Ports in inspect, Ports in ps).
 */

export type Proto = 'tcp' | 'udp';

/** One port to publish, before a host port is chosen. */
export interface PortRequest {
  proto: Proto;
  containerPort: number;
  /**
   * '': every address of the host, v4 and v6; 0.0.0.0: every v4 one; `::`: every v6 one; else
   * that address (v6 ones in RFC 5952 form, without brackets).
   */
  hostIp: string;
  /** [first, last] host ports to choose from; [0, 0]: any free port. */
  hostPorts: [number, number];
}

/** A published port as bound (persisted with the endpoint). */
export interface PortMapping {
  proto: Proto;
  containerPort: number;
  hostIp: string;
  hostPort: number;
  /**
   * Also held on [::] (published on every address, IPv6 ones included, as Docker's
   * docker-proxy does): relayed to the container's IPv4 address by the daemon.
   */
  v6?: boolean;
}

function portNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    throw invalidArgument(`invalid ${what}: ${text}`);
  return Number(text);
}

function parseKey(key: string): { port: number; proto: Proto } {
  const [p, proto = 'tcp'] = key.split('/');
  if (proto !== 'tcp' && proto !== 'udp') {
    if (proto === 'sctp') throw invalidArgument('publishing sctp ports is not supported by Wharf');
    throw invalidArgument(`invalid proto: ${proto}`);
  }
  return { port: portNumber(p ?? '', 'containerPort'), proto };
}

function hostPortRange(text: string | undefined): [number, number] {
  if (text === undefined || text === '' || text === '0') return [0, 0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw invalidArgument(`invalid hostPort: ${text}`);
  const a = portNumber(m[1]!, 'hostPort');
  const b = m[2] === undefined ? a : portNumber(m[2], 'hostPort');
  if (b < a) throw invalidArgument(`invalid hostPort: ${text}`);
  return [a, b];
}

/** A binding's host address, checked; a v6 one in its canonical form ('' stays ''). */
function checkHostIp(hostIp: string): string {
  if (hostIp === '') return hostIp;
  try {
    if (hostIp.includes(':')) return formatIPv6(parseIPv6(hostIp));
    parseIPv4(hostIp);
    return hostIp;
  } catch {
    throw invalidArgument(`invalid IP address: ${hostIp}`);
  }
}

/** The ports a container asks to publish, checked (Docker's messages where it has them). */
export function portRequests(
  bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined,
  publishAll: boolean,
  exposed: Record<string, unknown> | null | undefined,
): PortRequest[] {
  const out: PortRequest[] = [];
  const keys = new Set(Object.keys(bindings ?? {}));
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { port, proto } = parseKey(key);
    for (const b of list ?? []) {
      const hostIp = checkHostIp(b.HostIp ?? '');
      out.push({ proto, containerPort: port, hostIp, hostPorts: hostPortRange(b.HostPort) });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      if (keys.has(key)) continue;
      const { port, proto } = parseKey(key);
      out.push({ proto, containerPort: port, hostIp: '', hostPorts: [0, 0] });
    }
  }
  return out;
}

/** NetworkSettings.Ports: every exposed port, with its bindings or null. */
export function portsView(
  mappings: readonly PortMapping[],
  exposed: Record<string, unknown> | null | undefined,
): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const key of Object.keys(exposed ?? {})) out[key] = null;
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.proto}`;
    const list = (out[key] ??= []);
    list.push({ HostIp: m.hostIp || '0.0.0.0', HostPort: String(m.hostPort) });
    if (m.v6) list.push({ HostIp: '::', HostPort: String(m.hostPort) });
  }
  return out;
}
