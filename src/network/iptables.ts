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
}

const PREFIX = /^[A-Za-z][A-Za-z0-9_-]{0,15}$/;

/** Our chain names for a prefix (≤ 16 characters, so every chain name fits in 28). */
export function chainNames(prefix: string): ChainNames {
  if (!PREFIX.test(prefix)) {
    throw invalidArgument(
      `invalid chain prefix ${JSON.stringify(prefix)}: 1-16 characters of [A-Za-z0-9_-]`,
    );
  }
  return { forward: `${prefix}-FORWARD`, postrouting: `${prefix}-POSTROUTING` };
}

/** A bridge network's part of the rules. */
export interface BridgeRuleSpec {
  bridge: string;
  /** The subnet in CIDR form. */
  subnet: string;
  /** `--internal`: nothing enters or leaves the subnet through the host, no masquerade. */
  internal?: boolean;
  /** com.docker.network.bridge.enable_icc=false: containers of the network cannot talk. */
  icc?: boolean;
}

interface Jump {
  table: 'filter' | 'nat';
  from: string;
  to: string;
  /** Insert at the top (FORWARD, where a DROP policy or other rules may sit) or append. */
  insert: boolean;
}

function jumps(c: ChainNames): Jump[] {
  return [
    { table: 'filter', from: 'FORWARD', to: c.forward, insert: true },
    { table: 'nat', from: 'POSTROUTING', to: c.postrouting, insert: false },
  ];
}

/** The rules inside our chains, per table, as iptables-restore lines (without `-A chain`). */
export function chainRules(
  c: ChainNames,
  bridges: readonly BridgeRuleSpec[],
): Record<'filter' | 'nat', string[]> {
  const filter: string[] = [];
  const nat: string[] = [];
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
  return `-A ${j.from} -j ${j.to}`;
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
): string {
  const rules = chainRules(c, bridges);
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    out.push(`*${table}`);
    for (const j of jumps(c).filter((x) => x.table === table)) out.push(`:${j.to} - [0:0]`);
    out.push(...rules[table]);
    for (const j of jumps(c).filter((x) => x.table === table)) {
      const n = count(saved, table, jumpRule(j));
      if (n === 0) out.push(j.insert ? `-I ${j.from} 1 -j ${j.to}` : `-A ${j.from} -j ${j.to}`);
      for (let i = 1; i < n; i++) out.push(`-D ${j.from} -j ${j.to}`);
    }
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** The iptables-restore --noflush input that removes our jump rules and chains; '' if none. */
export function teardownRestoreInput(c: ChainNames, saved: Map<string, SavedTable>): string {
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const lines: string[] = [];
    for (const j of jumps(c).filter((x) => x.table === table)) {
      const n = count(saved, table, jumpRule(j));
      for (let i = 0; i < n; i++) lines.push(`-D ${j.from} -j ${j.to}`);
      if (saved.get(table)?.chains.has(j.to)) lines.push(`-F ${j.to}`, `-X ${j.to}`);
    }
    if (lines.length > 0) out.push(`*${table}`, ...lines, 'COMMIT');
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

export async function iptablesSave(): Promise<Map<string, SavedTable>> {
  const { stdout } = await run(['iptables-save']);
  return parseIptablesSave(stdout);
}

export async function iptablesRestore(input: string): Promise<void> {
  if (input === '') return;
  await run(['iptables-restore', '--noflush', '-w', '5'], { input });
}
