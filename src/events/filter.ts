import {
  filterExactMatch,
  filterFuzzyMatch,
  filterMatchKVList,
  type EventMessage,
  type Filters,
} from '../api-types/index.js';

/** The filter keys `GET /events` accepts. */
export const EVENT_FILTER_KEYS: readonly string[] = [
  'config',
  'container',
  'daemon',
  'event',
  'image',
  'label',
  'network',
  'node',
  'plugin',
  'scope',
  'secret',
  'service',
  'type',
  'volume',
];

/** Actions that carry a suffix (`exec_start: sh -c ...`), so `event=exec_start` is a prefix. */
const PREFIX_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);

/** Whether an event passes Docker's `/events` filters (all keys AND, values of a key OR). */
export function eventMatches(filters: Filters, ev: EventMessage): boolean {
  if (filters.size === 0) return true;
  const action = ev.Action;
  const eventOk = (filters.get('event') ?? []).some((v) => PREFIX_ACTIONS.has(v))
    ? filterFuzzyMatch(filters, 'event', action)
    : filterExactMatch(filters, 'event', action);
  return (
    eventOk &&
    filterExactMatch(filters, 'type', ev.Type) &&
    filterExactMatch(filters, 'scope', ev.scope) &&
    byName(filters, ev, 'daemon') &&
    byName(filters, ev, 'container') &&
    byName(filters, ev, 'plugin') &&
    byName(filters, ev, 'volume') &&
    byName(filters, ev, 'network') &&
    byName(filters, ev, 'node') &&
    byName(filters, ev, 'service') &&
    byName(filters, ev, 'secret') &&
    byName(filters, ev, 'config') &&
    matchImage(filters, ev) &&
    filterMatchKVList(filters, 'label', ev.Actor.Attributes)
  );
}

/**
 * `container=x` (and daemon, network, volume...) matches events of that type whose actor's ID
 * or `name` attribute starts with x. Like Docker, the key does not restrict the event type:
 * `container=web` also passes events of other types whose actor is named `web...`.
 */
function byName(filters: Filters, ev: EventMessage, key: string): boolean {
  return (
    filterFuzzyMatch(filters, key, ev.Actor.ID) ||
    filterFuzzyMatch(filters, key, ev.Actor.Attributes['name'] ?? '')
  );
}

/** Image events by ID or name, container events by their `image` attribute, with or without tag. */
function matchImage(filters: Filters, ev: EventMessage): boolean {
  const id = ev.Actor.ID;
  const name = ev.Actor.Attributes[ev.Type === 'image' ? 'name' : 'image'] ?? '';
  return (
    filterExactMatch(filters, 'image', id) ||
    filterExactMatch(filters, 'image', name) ||
    filterExactMatch(filters, 'image', familiarName(id)) ||
    filterExactMatch(filters, 'image', familiarName(name))
  );
}

/**
 * The familiar repository name of a reference without tag or digest (`docker.io/library/
 * busybox:1` → `busybox`); values that are not references (IDs, digests) come back as given.
 */
export function familiarName(ref: string): string {
  if (ref === '' || /^(sha256:)?[a-f0-9]{64}$/.test(ref) || /[A-Z]/.test(ref)) return ref;
  let name = ref;
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  if (!/^[a-z0-9._/:-]+$/.test(name)) return ref;
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/']) {
    if (name.startsWith(prefix) && !name.slice(prefix.length).includes('/')) {
      return name.slice(prefix.length);
    }
  }
  for (const prefix of ['docker.io/', 'index.docker.io/']) {
    if (name.startsWith(prefix)) return name.slice(prefix.length);
  }
  return name;
}
