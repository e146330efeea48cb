import * as dnsPacket from 'dns-packet';

/**
 * The embedded resolver's decisions, without sockets: given who asks (the querier's address
 * and the gateway the query arrived on) and what the user-defined networks hold, answer from
 * the containers' names or say where to forward. Names are scoped as Docker scopes them: a
 * container sees the names on the networks it is attached to, and no others.
 */

/** One user-defined network as the resolver sees it. */
export interface DnsNetwork {
  id: string;
  gateway: string;
  internal: boolean;
  endpoints: DnsEndpoint[];
}

export interface DnsEndpoint {
  containerId: string;
  ip: string;
  /** The v6 address on a dual-stack network (AAAA answers). */
  ipv6?: string;
  /** Container name, aliases, short ID (DNSNames in inspect). */
  names: readonly string[];
  /** --dns servers of the container, forwarded to instead of the host's resolvers. */
  upstreams?: readonly string[];
}

export type DnsDecision =
  | { kind: 'answer'; response: Buffer }
  /** Forward to the container's --dns servers; none given: to the host's resolvers. */
  | { kind: 'forward'; upstreams: string[] }
  | { kind: 'drop' };

export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_REFUSED = 5;

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** 4.3.2.1.in-addr.arpa → 1.2.3.4; undefined for other names. */
export function ptrAddress(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(normalise(name));
  return m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : undefined;
}

function reply(
  query: dnsPacket.DecodedPacket,
  rcode: number,
  answers: dnsPacket.Answer[] = [],
): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: query.id,
    // Authoritative for our names; recursion is available (we forward the rest).
    flags:
      dnsPacket.AUTHORITATIVE_ANSWER |
      dnsPacket.RECURSION_AVAILABLE |
      (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) |
      rcode,
    questions: query.questions,
    answers,
  });
}

/**
 * Decide what to do with one query. `local` is the address the query arrived on (a network's
 * gateway), `from` the querier's. Queries from addresses that are no container of that network
 * are refused (the listener is reachable from anything that can route to the host).
 */
export function decide(
  raw: Buffer,
  from: string,
  local: string,
  networks: readonly DnsNetwork[],
): DnsDecision {
  return decideWith(raw, networks, (nets) => {
    const net = nets.find((n) => n.gateway === local);
    return net?.endpoints.find((e) => e.ip === from);
  });
}

/**
 * The same for a query that came through a socket inside container `containerId`'s own
 * namespace (127.0.0.11 on macvlan networks): the socket says who asks.
 */
export function decideFor(
  raw: Buffer,
  containerId: string,
  networks: readonly DnsNetwork[],
): DnsDecision {
  return decideWith(raw, networks, (nets) => {
    for (const n of nets) {
      const ep = n.endpoints.find((e) => e.containerId === containerId);
      if (ep) return ep;
    }
    return undefined;
  });
}

function decideWith(
  raw: Buffer,
  networks: readonly DnsNetwork[],
  querier: (nets: readonly DnsNetwork[]) => DnsEndpoint | undefined,
): DnsDecision {
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(raw);
  } catch {
    return { kind: 'drop' };
  }
  if (query.type !== 'query') return { kind: 'drop' };
  const q = query.questions?.[0];
  if (!q || (query.questions?.length ?? 0) !== 1)
    return { kind: 'answer', response: reply(query, 1) };

  const me = querier(networks);
  if (!me) return { kind: 'answer', response: reply(query, RCODE_REFUSED) };
  const scope = networks.filter((n) => n.endpoints.some((e) => e.containerId === me.containerId));

  const name = normalise(q.name);
  const ptr = ptrAddress(name);
  if (ptr !== undefined) {
    for (const n of scope) {
      const ep = n.endpoints.find((e) => e.ip === ptr);
      if (ep && ep.names[0])
        return {
          kind: 'answer',
          response: reply(query, 0, [{ type: 'PTR', name: q.name, ttl: 600, data: ep.names[0] }]),
        };
    }
  } else {
    const ips: string[] = [];
    const ips6: string[] = [];
    let known = false;
    for (const n of scope) {
      for (const e of n.endpoints) {
        if (!e.names.some((x) => x.toLowerCase() === name)) continue;
        known = true;
        if (!ips.includes(e.ip)) ips.push(e.ip);
        if (e.ipv6 && !ips6.includes(e.ipv6)) ips6.push(e.ipv6);
      }
    }
    if (known) {
      // A known name: A (and, on dual-stack networks, AAAA) records; other types get an
      // empty answer (NODATA), not a forward (the outside world must not be asked about, or
      // answer for, a container's name).
      const answers: dnsPacket.Answer[] =
        q.type === 'A'
          ? ips.map((ip) => ({ type: 'A', name: q.name, ttl: 600, data: ip }))
          : q.type === 'AAAA'
            ? ips6.map((ip) => ({ type: 'AAAA', name: q.name, ttl: 600, data: ip }))
            : [];
      return { kind: 'answer', response: reply(query, 0, answers) };
    }
  }
  // Not ours. Internal networks have no way out, and neither do their names' lookups.
  if (scope.every((n) => n.internal))
    return { kind: 'answer', response: reply(query, RCODE_SERVFAIL) };
  return { kind: 'forward', upstreams: [...(me.upstreams ?? [])] };
}

/** A SERVFAIL for a query we could not forward (all upstreams silent or unreachable). */
export function servfail(raw: Buffer): Buffer | undefined {
  try {
    return reply(dnsPacket.decode(raw), RCODE_SERVFAIL);
  } catch {
    return undefined;
  }
}

/** The nameserver lines of a resolv.conf (IPv4 only: the forwarder speaks udp4). */
export function nameservers(resolvConf: string): string[] {
  const out: string[] = [];
  for (const raw of resolvConf.split('\n')) {
    const [key, value] = raw.trim().split(/\s+/);
    if (key === 'nameserver' && value && /^\d{1,3}(\.\d{1,3}){3}$/.test(value)) out.push(value);
  }
  return out;
}
