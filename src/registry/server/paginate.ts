/**
 * Pagination of tag lists and the catalog: sorted names, `n` at most per page, starting after
 * `last`; a `Link: <...>; rel="next"` header when more remain (distribution spec).
 */
import { regErr } from './errors.js';

export interface PageQuery {
  n?: number;
  last?: string;
}

/** The reference registry's cap on one page. */
export const MAX_PAGE = 1000;

export function parsePageQuery(params: URLSearchParams): PageQuery {
  const q: PageQuery = {};
  const n = params.get('n');
  if (n !== null && n !== '') {
    if (!/^\d+$/.test(n)) {
      throw regErr('PAGINATION_NUMBER_INVALID', 'invalid number of results requested', { n });
    }
    q.n = Math.min(Number(n), MAX_PAGE);
  }
  const last = params.get('last');
  if (last !== null && last !== '') q.last = last;
  return q;
}

export interface Page {
  items: string[];
  /** The `last` of the next page, when there is one. */
  next?: string;
}

/** `sorted` must be in ascending (code unit) order. */
export function paginate(sorted: readonly string[], q: PageQuery): Page {
  let from = 0;
  if (q.last !== undefined) {
    const last = q.last;
    from = sorted.findIndex((s) => s > last);
    if (from < 0) from = sorted.length;
  }
  const n = q.n ?? sorted.length - from;
  const items = sorted.slice(from, from + n);
  const more = from + n < sorted.length && items.length > 0;
  return more ? { items, next: items[items.length - 1] } : { items };
}

/** The Link header for the next page of `path` (e.g. `/v2/a/tags/list`). */
export function nextLink(path: string, n: number | undefined, next: string): string {
  const params = new URLSearchParams();
  if (n !== undefined) params.set('n', String(n));
  params.set('last', next);
  return `<${path}?${params.toString()}>; rel="next"`;
}

/** Code-unit order, what the spec's "lexical order" means for ASCII names. */
export function sortNames(names: string[]): string[] {
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
