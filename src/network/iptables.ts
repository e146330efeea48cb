import { invalidArgument, run } from '../common/index.js';

/**
 * The iptables wrapper. Wharf's rules live in its own chains, reached by one jump rule from
 * each built-in chain it needs; those chains are rebuilt whole from the list of networks in
 * one `iptables-restore --noflush` transaction (declaring a user chain flushes it), so the
 * result is a pure function of the networks and setup is idempotent across restarts. Built-in
 * chains are only ever touched to add or remove our own jump rules; other chains (Docker's
 * DOCKER*, the host's) are never read for anything but those jumps, and never written.
 */

export interface ChainNames {
  /** filter table, jumped to from FORWARD. */
  forward: string;
  /** nat table, jumped to from POSTROUTING. */
  postrouting: string;
  /** nat table, jumped to from PREROUTING and OUTPUT for local destinations: published ports. */
  dnat: string;
}

const PREFIX = /^[A-Za-z][A-Za-z0-9_-]{0,15}$/;

/** Our chain names for a prefix (≤ 16 characters, so every chain name fits in 28). */
export function chainNames(prefix: string): ChainNames {
  if (!PREFIX.test(prefix)) {
    throw invalidArgument(
      `invalid chain prefix ${JSON.stringify(prefix)}: 1-16 characters of [A-Za-z0-9_-]`,
    );
  }
  return {
    forward: `${prefix}-FORWARD`,
    postrouting: `${prefix}-POSTROUTING`,
    dnat: `${prefix}-DNAT`,
  };
}

/** A bridge network's part of the rules. */
export interface BridgeRuleSpec {
  bridge: string;
  /** The subnet in CIDR form. */
  subnet: string;
  /** The bridge's own address (user-defined networks; for the embedded DNS redirect). */
  gateway?: string;
  /** `--internal`: nothing enters or leaves the subnet through the host, no masquerade. */
  internal?: boolean;
  /** com.docker.network.bridge.enable_icc=false: containers of the network cannot talk. */
  icc?: boolean;
  /** Published ports of the network's containers. */
  ports?: readonly PublishedPortRule[];
  /** Where the network's embedded DNS listens on the gateway, when not on port 53. */
  dnsPort?: number;
}

/** One published port: host side and the container it leads to. */
export interface PublishedPortRule {
  proto: 'tcp' | 'udp';
  /** '' for every host address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

interface Jump {
  table: 'filter' | 'nat';
  from: string;
  /** Matches before the jump, as iptables-save prints them ('' for none). */
  match: string;
  to: string;
  /** Insert at the top (FORWARD, where a DROP policy or other rules may sit) or append. */
  insert: boolean;
}

function jumps(c: ChainNames): Jump[] {
  return [
    { table: 'filter', from: 'FORWARD', match: '', to: c.forward, insert: true },
    { table: 'nat', from: 'POSTROUTING', match: '', to: c.postrouting, insert: false },
    {
      table: 'nat',
      from: 'PREROUTING',
      match: '-m addrtype --dst-type LOCAL ',
      to: c.dnat,
      insert: false,
    },
    // Loopback destinations included: our bridges have route_localnet, and the 127.0.0.1
    // source is masqueraded on the way out (below), as dockerd without its userland proxy.
    {
      table: 'nat',
      from: 'OUTPUT',
      match: '-m addrtype --dst-type LOCAL ',
      to: c.dnat,
      insert: false,
    },
  ];
}

/** The rules inside our chains, per table, as iptables-restore lines (without `-A chain`). */
export function chainRules(
  c: ChainNames,
  bridges: readonly BridgeRuleSpec[],
): Record<'filter' | 'nat', string[]> {
  const filter: string[] = [];
  const nat: string[] = [];
  // The embedded DNS moved off port 53 (taken on the host): the network's queries to the
  // gateway's port 53 go to it.
  for (const b of bridges) {
    if (b.dnsPort === undefined || b.dnsPort === 53 || !b.gateway) continue;
    for (const proto of ['udp', 'tcp'])
      nat.push(
        `-A ${c.dnat} -d ${b.gateway}/32 -i ${b.bridge} -p ${proto} -m ${proto} --dport 53 -j DNAT --to-destination ${b.gateway}:${b.dnsPort}`,
      );
  }
  // Published ports before isolation: a published port is reachable from every network (as
  // through docker-proxy), in both directions of the DNATed connection only.
  for (const b of bridges) {
    if (b.internal) continue;
    for (const p of b.ports ?? []) {
      const dest = `${p.containerIp}/32`;
      const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? ` -d ${p.hostIp}/32` : '';
      nat.push(
        `-A ${c.dnat}${dst} -p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`,
      );
      // Hairpin: a container of the same subnet must see replies come back through the host.
      nat.push(
        `-A ${c.postrouting} -s ${b.subnet} -d ${dest} -o ${b.bridge} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -m conntrack --ctstate DNAT -j MASQUERADE`,
      );
      filter.push(
        `-A ${c.forward} -d ${dest} -o ${b.bridge} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -m conntrack --ctstate DNAT -j ACCEPT`,
        `-A ${c.forward} -s ${dest} -i ${b.bridge} -p ${p.proto} -m ${p.proto} --sport ${p.containerPort} -m conntrack --ctstate DNAT -j ACCEPT`,
      );
    }
  }
  // Isolation first (Docker's isolation stages, flattened): no traffic from one Wharf
  // network's bridge to another's, whatever the accepts below say.
  for (const a of bridges) {
    for (const b of bridges) {
      if (a !== b) filter.push(`-A ${c.forward} -i ${a.bridge} -o ${b.bridge} -j DROP`);
    }
  }
  for (const b of bridges) {
    if (b.icc === false) filter.push(`-A ${c.forward} -i ${b.bridge} -o ${b.bridge} -j DROP`);
    if (b.internal) {
      // Nothing leaves or enters the subnet through the host.
      filter.push(`-A ${c.forward} -i ${b.bridge} ! -o ${b.bridge} -j DROP`);
      filter.push(`-A ${c.forward} -o ${b.bridge} ! -i ${b.bridge} -j DROP`);
      filter.push(`-A ${c.forward} -i ${b.bridge} -o ${b.bridge} -j ACCEPT`);
      continue;
    }
    // Replies to connections the containers opened, and anything the containers send.
    filter.push(
      `-A ${c.forward} -o ${b.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    );
    filter.push(`-A ${c.forward} -i ${b.bridge} -j ACCEPT`);
    // Containers reach the outside world under the host's address.
    nat.push(`-A ${c.postrouting} -s ${b.subnet} ! -o ${b.bridge} -j MASQUERADE`);
    // Published ports reached on 127.0.0.1 leave for the bridge with a loopback source.
    if ((b.ports ?? []).length > 0)
      nat.push(`-A ${c.postrouting} -s 127.0.0.0/8 -o ${b.bridge} -j MASQUERADE`);
  }
  return { filter, nat };
}

/** What `iptables-save` shows of a table: its chains and its `-A` rule lines. */
export interface SavedTable {
  chains: Set<string>;
  rules: string[];
}

export function parseIptablesSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let cur: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      cur = { chains: new Set(), rules: [] };
      tables.set(line.slice(1), cur);
    } else if (line === 'COMMIT') {
      cur = undefined;
    } else if (cur && line.startsWith(':')) {
      cur.chains.add(line.slice(1).split(/\s+/)[0]!);
    } else if (cur && line.startsWith('-A ')) {
      cur.rules.push(line);
    }
  }
  return tables;
}

function jumpRule(j: Jump): string {
  return `-A ${j.from} ${j.match}-j ${j.to}`;
}

function count(saved: Map<string, SavedTable>, table: string, rule: string): number {
  return saved.get(table)?.rules.filter((r) => r === rule).length ?? 0;
}

/**
 * The iptables-restore --noflush input that (re)builds our chains for `bridges`, inserts each
 * missing jump rule once and removes duplicates of ours (left by an older crash).
 */
export function setupRestoreInput(
  c: ChainNames,
  bridges: readonly BridgeRuleSpec[],
  saved: Map<string, SavedTable>,
  tables: ReadonlyArray<'filter' | 'nat'> = ['filter', 'nat'],
): string {
  const rules = chainRules(c, bridges);
  const out: string[] = [];
  for (const table of tables) {
    out.push(`*${table}`);
    const targets = new Set(
      jumps(c)
        .filter((x) => x.table === table)
        .map((j) => j.to),
    );
    for (const to of targets) out.push(`:${to} - [0:0]`);
    out.push(...rules[table]);
    for (const j of jumps(c).filter((x) => x.table === table)) {
      const n = count(saved, table, jumpRule(j));
      if (n === 0)
        out.push(
          j.insert ? `-I ${j.from} 1 ${j.match}-j ${j.to}` : `-A ${j.from} ${j.match}-j ${j.to}`,
        );
      for (let i = 1; i < n; i++) out.push(`-D ${j.from} ${j.match}-j ${j.to}`);
    }
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** The iptables-restore --noflush input that removes our jump rules and chains; '' if none. */
export function teardownRestoreInput(
  c: ChainNames,
  saved: Map<string, SavedTable>,
  tables: ReadonlyArray<'filter' | 'nat'> = ['filter', 'nat'],
): string {
  const out: string[] = [];
  for (const table of tables) {
    const lines: string[] = [];
    const chains = new Set<string>();
    for (const j of jumps(c).filter((x) => x.table === table)) {
      const n = count(saved, table, jumpRule(j));
      for (let i = 0; i < n; i++) lines.push(`-D ${j.from} ${j.match}-j ${j.to}`);
      if (saved.get(table)?.chains.has(j.to)) chains.add(j.to);
    }
    for (const to of chains) lines.push(`-F ${to}`);
    for (const to of chains) lines.push(`-X ${to}`);
    if (lines.length > 0) out.push(`*${table}`, ...lines, 'COMMIT');
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

/** Which tool family: v4 (iptables) or v6 (ip6tables, for dual-stack networks). */
export type IpFamily = 4 | 6;

export async function iptablesSave(family: IpFamily = 4): Promise<Map<string, SavedTable>> {
  const { stdout } = await run([family === 6 ? 'ip6tables-save' : 'iptables-save']);
  return parseIptablesSave(stdout);
}

export async function iptablesRestore(input: string, family: IpFamily = 4): Promise<void> {
  if (input === '') return;
  const bin = family === 6 ? 'ip6tables-restore' : 'iptables-restore';
  await run([bin, '--noflush', '-w', '5'], { input });
}

/**
 * The v6 filter rules: the same forward chain (isolation between every pair of Wharf bridges,
 * `enable_icc=false`, `--internal`, the accepts), without the v4-only parts (published ports,
 * the DNS redirect). Wharf does not turn v6 forwarding on; these rules keep the networks
 * apart when the host has it on.
 */
export function setupRestoreInput6(
  c: ChainNames,
  bridges: readonly BridgeRuleSpec[],
  saved: Map<string, SavedTable>,
): string {
  const v6 = bridges.map((b) => ({
    bridge: b.bridge,
    subnet: b.subnet,
    internal: b.internal,
    icc: b.icc,
  }));
  return setupRestoreInput(c, v6, saved, ['filter']);
}

/** The DNAT rules' view of endpoints that have published ports. */
export function portRules(
  endpoints: Iterable<{
    ipAddress: string;
    ports?: ReadonlyArray<{
      proto: 'tcp' | 'udp';
      hostIp: string;
      hostPort: number;
      containerPort: number;
    }>;
  }>,
): PublishedPortRule[] {
  const out: PublishedPortRule[] = [];
  for (const ep of endpoints) {
    // Ports published on a v6 host address are the daemon's relay alone (see port-proxy.ts).
    for (const p of (ep.ports ?? []).filter((m) => !m.hostIp.includes(':')))
      out.push({
        proto: p.proto,
        hostIp: p.hostIp,
        hostPort: p.hostPort,
        containerIp: ep.ipAddress,
        containerPort: p.containerPort,
      });
  }
  return out;
}
