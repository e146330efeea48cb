import {
  filterMatchKVList,
  parseTimestamp,
  validateFilters,
  type Filters,
  type NetworkResource,
} from '../api-types/index.js';
import { invalidArgument } from '../common/index.js';

/** A network as the list filters see it. */
export interface FilterSubject {
  view: NetworkResource;
  /** Running containers attached. */
  endpoints: number;
  /** One of the predefined networks bridge, host, none. */
  builtin: boolean;
}

const LIST_KEYS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

function boolValue(key: string, v: string): boolean {
  if (['true', '1'].includes(v.toLowerCase())) return true;
  if (['false', '0'].includes(v.toLowerCase())) return false;
  throw invalidArgument(`invalid filter '${key}=${v}'`);
}

/** GET /networks filters, as Docker's (name and id match substrings; type custom|builtin). */
export function networkListFilter(filters: Filters): (s: FilterSubject) => boolean {
  validateFilters(filters, LIST_KEYS);
  for (const t of filters.get('type') ?? []) {
    if (t !== 'custom' && t !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${t}'`);
  }
  const dangling = (filters.get('dangling') ?? []).map((v) => boolValue('dangling', v));
  const any = (key: string, test: (v: string) => boolean): boolean => {
    const values = filters.get(key);
    return values === undefined || values.length === 0 || values.some(test);
  };
  return ({ view, endpoints, builtin }) => {
    return (
      any('driver', (v) => v === view.Driver) &&
      any('id', (v) => view.Id.includes(v)) &&
      any('name', (v) => view.Name.includes(v)) &&
      any('scope', (v) => v === view.Scope) &&
      any('type', (v) => (v === 'builtin') === builtin) &&
      filterMatchKVList(filters, 'label', view.Labels) &&
      // Docker: dangling=true lists user-defined networks with no containers.
      (dangling.length === 0 || dangling.some((d) => d === (!builtin && endpoints === 0)))
    );
  };
}

/** POST /networks/prune filters: until (created before) and label / label!. */
export function networkPruneFilter(filters: Filters): (view: NetworkResource) => boolean {
  validateFilters(filters, ['until', 'label', 'label!']);
  const until = (filters.get('until') ?? []).map((u) => parseTimestamp(u) * 1000);
  return (view) => {
    const created = Date.parse(view.Created);
    if (until.some((u) => !(created < u))) return false;
    if (!filterMatchKVList(filters, 'label', view.Labels)) return false;
    const not = filters.get('label!') ?? [];
    if (
      not.length > 0 &&
      not.some((l) => filterMatchKVList(new Map([['label', [l]]]), 'label', view.Labels))
    )
      return false;
    return true;
  };
}
