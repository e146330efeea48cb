/**
 * Volume list and prune filters, as dockerd applies them (pure: the caller says which
 * volumes are in use).
 */
import {
  filterMatchKVList,
  invalidFilterValue,
  validateFilters,
  type Filters,
} from '../api-types/index.js';
import { ANONYMOUS_LABEL } from './names.js';

export interface FilterableVolume {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  /** Whether any container (running or not) references the volume. */
  inUse: boolean;
}

const LIST_FILTERS = ['dangling', 'driver', 'label', 'name'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];

function parseBool(key: string, v: string): boolean {
  const s = v.toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw invalidFilterValue(key, v);
}

/** `name` values are unanchored regular expressions (filters.Match); a bad one matches nothing. */
function nameMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  try {
    return new RegExp(pattern).test(name);
  } catch {
    return false;
  }
}

/** Validate list filters up front (so bad input fails even with no volumes). */
export function validateListFilters(f: Filters): void {
  validateFilters(f, LIST_FILTERS);
  for (const v of f.get('dangling') ?? []) parseBool('dangling', v);
}

/** GET /volumes: keys ANDed, values of one key ORed (labels: all must match). */
export function matchListFilters(f: Filters, v: FilterableVolume): boolean {
  const dangling = f.get('dangling') ?? [];
  if (dangling.length > 0 && !dangling.some((d) => parseBool('dangling', d) === !v.inUse))
    return false;
  const names = f.get('name') ?? [];
  if (names.length > 0 && !names.some((n) => nameMatches(n, v.Name))) return false;
  const drivers = f.get('driver') ?? [];
  if (drivers.length > 0 && !drivers.includes(v.Driver)) return false;
  return filterMatchKVList(f, 'label', v.Labels);
}

/**
 * POST /volumes/prune: unused volumes, only anonymous ones unless `all` (Docker 23+; API
 * versions before 1.42 always prune all). `label!` excludes volumes carrying that label.
 */
export function pruneSelector(
  f: Filters,
  apiAllDefault: boolean,
): (v: FilterableVolume) => boolean {
  validateFilters(f, PRUNE_FILTERS);
  const allValues = f.get('all') ?? [];
  let all = apiAllDefault;
  for (const a of allValues) all = parseBool('all', a) || all;
  const notLabels = f.get('label!') ?? [];
  return (v) => {
    if (v.inUse) return false;
    if (!all && !(v.Labels && Object.hasOwn(v.Labels, ANONYMOUS_LABEL))) return false;
    if (!filterMatchKVList(f, 'label', v.Labels)) return false;
    for (const nl of notLabels) {
      if (filterMatchKVList(new Map([['label', [nl]]]), 'label', v.Labels)) return false;
    }
    return true;
  };
}
