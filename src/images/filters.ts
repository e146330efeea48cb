import { invalidArgument } from '../common/index.js';

export const IMAGE_FILTERS = new Set(['dangling', 'label', 'before', 'since', 'reference']);

export function validateFilters(filters: Record<string, string[]>): void {
  for (const [key, values] of Object.entries(filters)) {
    if (!IMAGE_FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
    if (key === 'dangling') {
      for (const v of values) {
        if (!['true', 'false', '1', '0'].includes(v.toLowerCase())) {
          throw invalidArgument(`invalid filter 'dangling=${v}'`);
        }
      }
    }
  }
}

/** Docker's `label` filter: every `key` or `key=value` given must match. */
export function matchLabels(
  patterns: string[],
  labels: Record<string, string> | undefined,
): boolean {
  return patterns.every((p) => {
    const eq = p.indexOf('=');
    if (eq === -1) return labels !== undefined && p in labels;
    return labels?.[p.slice(0, eq)] === p.slice(eq + 1);
  });
}

export function danglingFilter(values: string[] | undefined): boolean | undefined {
  if (!values || values.length === 0) return undefined;
  return values.some((v) => v === 'true' || v === '1');
}
