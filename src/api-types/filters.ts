/**
 * The `filters` query parameter of list and events endpoints, as Docker's `filters.Args`:
 * JSON `{"label":{"a=b":true}}`, or the legacy `{"label":["a=b"]}` older clients send.
 * A key present with no values (`{"label":{}}`) filters nothing.
 */
import { invalidArgument } from '../common/errors.js';

export type Filters = Map<string, string[]>;

/** Parse the raw query value; empty or absent means no filters. */
export function parseFilters(raw: string | undefined | null): Filters {
  const out: Filters = new Map();
  if (raw === undefined || raw === null || raw === '') return out;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    throw invalidArgument('invalid filter', err);
  }
  if (doc === null) return out;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument('invalid filter');
  // Either every value is a {value: bool} map (current) or every value is a string list
  // (legacy); Go decodes into one shape and falls back to the other as a whole.
  const entries = Object.entries(doc as Record<string, unknown>);
  const asMaps = entries.every(([, v]) => v === null || isBoolMap(v));
  const asLists = entries.every(([, v]) => v === null || isStringList(v));
  if (!asMaps && !asLists) throw invalidArgument('invalid filter');
  for (const [key, v] of entries) {
    const values =
      v === null
        ? []
        : Array.isArray(v)
          ? [...new Set(v as string[])]
          : Object.keys(v as Record<string, boolean>);
    out.set(key, values);
  }
  return out;
}

function isBoolMap(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((b) => typeof b === 'boolean' || b === null)
  );
}

function isStringList(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Reject keys the endpoint does not know, with Docker's "invalid filter 'x'". */
export function validateFilters(filters: Filters, allowedKeys: Iterable<string>): void {
  const allowed = new Set(allowedKeys);
  for (const key of filters.keys()) {
    if (!allowed.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  }
}

/** Docker's error for a bad value of a known key: "invalid filter 'key=value'". */
export function invalidFilterValue(key: string, value: string): Error {
  return invalidArgument(`invalid filter '${key}=${value}'`);
}

/** True when no values are set for `key`, or `source` is one of them. */
export function filterExactMatch(filters: Filters, key: string, source: string): boolean {
  const values = filters.get(key);
  return values === undefined || values.length === 0 || values.includes(source);
}

/** As filterExactMatch, or one of the values is a prefix of `source` (short IDs, names). */
export function filterFuzzyMatch(filters: Filters, key: string, source: string): boolean {
  const values = filters.get(key);
  if (values === undefined || values.length === 0) return true;
  return values.some((v) => source.startsWith(v));
}

/**
 * Every `k` or `k=v` value of `key` (usually "label") is present in `sources`; all must match.
 */
export function filterMatchKVList(
  filters: Filters,
  key: string,
  sources: Record<string, string> | undefined | null,
): boolean {
  const values = filters.get(key);
  if (values === undefined || values.length === 0) return true;
  if (!sources) return false;
  return values.every((value) => {
    const eq = value.indexOf('=');
    const k = eq < 0 ? value : value.slice(0, eq);
    if (!Object.hasOwn(sources, k)) return false;
    return eq < 0 || sources[k] === value.slice(eq + 1);
  });
}
