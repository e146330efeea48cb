/**
 * Which build cache records a prune removes, with BuildKit's rules (what dockerd's `POST
 * /build/prune` applies; the classic builder keeps no other cache): records in use by a
 * build are never removed; without `all`, neither are records whose layer an image shares
 * (removing them would free nothing); `until` (or its old name `unused-for`) keeps what was
 * used within that duration; the other filters select records by field; `keep-storage`
 * removes the least recently used of the selected records only until the cache fits in it.
 * Pure: the cache gives the candidates, deletes what comes back.
 */
import { parseGoDuration } from '../api-types/index.js';
import { invalidArgument } from '../common/index.js';

export type Filters = Map<string, string[]>;

export interface PruneCandidate {
  /** The record's key (`system df` shows its first 25 characters). */
  id: string;
  type: 'regular' | 'exec.cachemount';
  description: string;
  /** The ID of the record this one was built on, if any. */
  parent?: string;
  shared: boolean;
  inUse: boolean;
  size: number;
  /** When it was last made or used (ms since the epoch). */
  lastUsed: number;
}

export interface PruneOptions {
  all: boolean;
  filters: Filters;
  /** Bytes the cache may keep (0: no limit, remove all that is selected). */
  keepStorage: number;
}

/** The keys dockerd accepts (`label` and `label!` too, which it ignores). */
const KEYS = new Set([
  'until',
  'unused-for',
  'label',
  'label!',
  'id',
  'parent',
  'type',
  'description',
  'inuse',
  'shared',
  'private',
]);

function one(filters: Filters, key: string): string | undefined {
  const v = filters.get(key);
  if (v === undefined || v.length === 0) return undefined;
  if (v.length > 1) throw invalidArgument('filters expect only one value');
  return v[0];
}

/** Check the filters and return the record matcher and the duration `until` keeps. */
export function pruneFilter(filters: Filters): {
  keepMs: number;
  match: (c: PruneCandidate) => boolean;
} {
  for (const key of filters.keys())
    if (!KEYS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  const until = filters.get('until') ?? [];
  const unusedFor = filters.get('unused-for') ?? [];
  if (until.length > 0 && unusedFor.length > 0)
    throw invalidArgument('conflicting filters: "until" and "unused-for"');
  const key = unusedFor.length > 0 ? 'unused-for' : 'until';
  const values = [...until, ...unusedFor];
  if (values.length > 1) throw invalidArgument('filters expect only one value');
  let keepMs = 0;
  if (values.length === 1) {
    try {
      keepMs = parseGoDuration(values[0]!) / 1e6;
    } catch (err) {
      throw invalidArgument(
        `"${key}" filter expects a duration (e.g., '24h'): ${(err as Error).message}`,
      );
    }
  }
  const id = one(filters, 'id');
  let idRe: RegExp | undefined;
  if (id !== undefined) {
    try {
      idRe = new RegExp(id);
    } catch {
      throw invalidArgument(`invalid filter 'id=${id}'`);
    }
  }
  const exact = (['parent', 'type', 'description'] as const).map(
    (k) => [k, one(filters, k)] as const,
  );
  const flag = (k: string): boolean | undefined => {
    if (!filters.has(k)) return undefined;
    const v = one(filters, k);
    if (v === undefined || v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw invalidArgument(`invalid filter '${k}=${v}'`);
  };
  const inuse = flag('inuse');
  const shared = flag('shared');
  const priv = flag('private');
  const match = (c: PruneCandidate): boolean => {
    if (idRe && !idRe.test(c.id)) return false;
    for (const [k, v] of exact) if (v !== undefined && (c[k] ?? '') !== v) return false;
    if (inuse !== undefined && c.inUse !== inuse) return false;
    if (shared !== undefined && c.shared !== shared) return false;
    if (priv !== undefined && c.shared === priv) return false;
    return true;
  };
  return { keepMs, match };
}

/** The candidates to remove, least recently used first. */
export function selectForPrune(
  candidates: PruneCandidate[],
  opts: PruneOptions,
  now: number,
): PruneCandidate[] {
  const { keepMs, match } = pruneFilter(opts.filters);
  const total = candidates.reduce((n, c) => n + c.size, 0);
  if (opts.keepStorage > 0 && total <= opts.keepStorage) return [];
  const chosen = candidates
    .filter((c) => !c.inUse)
    .filter((c) => opts.all || !c.shared)
    .filter((c) => keepMs <= 0 || c.lastUsed <= now - keepMs)
    .filter(match)
    .sort((a, b) => a.lastUsed - b.lastUsed || (a.id < b.id ? -1 : 1));
  if (opts.keepStorage <= 0) return chosen;
  const out: PruneCandidate[] = [];
  let left = total;
  for (const c of chosen) {
    if (left <= opts.keepStorage) break;
    out.push(c);
    left -= c.size;
  }
  return out;
}
