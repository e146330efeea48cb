import { mountPointsView } from './mounts.js';
import { filterMatchKVList, humanDuration } from '../api-types/index.js';
import { invalidArgument, notFound } from '../common/index.js';
import type { ContainerRecord } from './record.js';

/** GET /containers/{id}/json: the record, minus what is Wharf's own. */
export function inspectView(rec: ContainerRecord): Record<string, unknown> {
  const { runtime: _runtime, schemaVersion: _v, ...wire } = rec;
  const ports: Record<string, unknown> = {};
  for (const p of Object.keys(rec.Config.ExposedPorts ?? {})) ports[p] = null;
  if (rec.State.Running) Object.assign(ports, rec.NetworkSettings.Ports ?? {});
  const bridge = rec.NetworkSettings.Networks['bridge'];
  return {
    ...wire,
    State: { ...rec.State },
    ExecIDs: null,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    GraphDriver: { Name: 'overlay2', Data: null },
    Mounts: mountPointsView(rec),
    NetworkSettings: {
      Bridge: '',
      SandboxID: rec.NetworkSettings.SandboxKey ? rec.Id : '',
      SandboxKey: rec.NetworkSettings.SandboxKey,
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: ports,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: bridge?.EndpointID ?? '',
      Gateway: bridge?.Gateway ?? '',
      GlobalIPv6Address: bridge?.GlobalIPv6Address ?? '',
      GlobalIPv6PrefixLen: bridge?.GlobalIPv6PrefixLen ?? 0,
      IPAddress: bridge?.IPAddress ?? '',
      IPPrefixLen: bridge?.IPPrefixLen ?? 0,
      IPv6Gateway: bridge?.IPv6Gateway ?? '',
      MacAddress: bridge?.MacAddress ?? '',
      Networks: networksView(rec),
    },
  };
}

function networksView(rec: ContainerRecord): Record<string, unknown> {
  const mode = rec.HostConfig.NetworkMode ?? 'bridge';
  if (Object.keys(rec.NetworkSettings.Networks).length > 0) return rec.NetworkSettings.Networks;
  // A container in another's namespace has no endpoint of its own (dockerd: Networks {}),
  // nor has one disconnected from the default bridge.
  if (mode.startsWith('container:') || rec.runtime.defaultBridge === false) return {};
  return {
    [mode]: {
      IPAMConfig: null,
      Links: null,
      Aliases: null,
      MacAddress: '',
      NetworkID: '',
      EndpointID: '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DriverOpts: null,
      DNSNames: null,
    },
  };
}

/** Docker's one-line Status ("Up 3 seconds (Paused)", "Exited (0) 2 minutes ago"). */
export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const s = rec.State;
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (s.Running) {
    const up = `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
    return s.Paused ? `${up} (Paused)` : up;
  }
  if (s.FinishedAt.startsWith('0001-')) return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

/** GET /containers/json entry. */
export function summaryView(rec: ContainerRecord, imageName: string): Record<string, unknown> {
  const bridge = rec.NetworkSettings.Networks;
  return {
    Id: rec.Id,
    Names: [rec.Name],
    Image: imageName,
    ImageID: rec.Image,
    Command: [rec.Path, ...rec.Args].map(quoteArg).join(' '),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: portSummary(rec),
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode ?? 'bridge' },
    NetworkSettings: { Networks: Object.keys(bridge).length ? bridge : networksView(rec) },
    Mounts: mountPointsView(rec),
  };
}

function quoteArg(a: string): string {
  return /[\s"']/.test(a) ? JSON.stringify(a) : a;
}

const CONTAINER_FILTERS = new Set([
  'id',
  'name',
  'label',
  'status',
  'ancestor',
  'exited',
  'before',
  'since',
  'network',
  'health',
  'is-task',
  'volume',
  'publish',
  'expose',
]);
const STATUSES = new Set([
  'created',
  'restarting',
  'running',
  'removing',
  'paused',
  'exited',
  'dead',
]);

export interface ListContext {
  /** Whether an image reference or ID names the container's image (ancestor filter). */
  matchesImage: (rec: ContainerRecord, ref: string) => boolean;
  find: (ref: string) => ContainerRecord | undefined;
}

/** A `name` filter value is a regexp; an invalid one matches nothing (Docker's filters.Match). */
function nameMatches(pattern: string, name: string): boolean {
  let re: RegExp;
  try {
    re = new RegExp(pattern.replace(/^\//, ''));
  } catch (err) {
    if (err instanceof SyntaxError) return false;
    throw err;
  }
  return re.test(name);
}

/** Docker's container list: newest first, filters ANDed across keys and ORed within one. */
export function filterContainers(
  recs: ContainerRecord[],
  opts: { all: boolean; limit?: number; filters: Map<string, string[]> },
  ctx: ListContext,
): ContainerRecord[] {
  const f = opts.filters;
  for (const key of f.keys())
    if (!CONTAINER_FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  for (const s of f.get('status') ?? []) {
    if (!STATUSES.has(s)) throw invalidArgument(`invalid filter 'status=${s}'`);
  }
  const exitedCodes = (f.get('exited') ?? []).map((e) => {
    const n = Number(e);
    if (!Number.isInteger(n)) throw invalidArgument(`invalid filter 'exited=${e}'`);
    return n;
  });
  // As dockerd: a before/since container that does not exist is a 404, not an empty list.
  const known = (r: string): ContainerRecord => {
    const rec = ctx.find(r);
    if (!rec) throw notFound(`No such container: ${r}`, 'ERR_NO_SUCH_CONTAINER');
    return rec;
  };
  const before = f.get('before')?.map(known);
  const since = f.get('since')?.map(known);
  let list = [...recs].sort(
    (a, b) => Date.parse(b.Created) - Date.parse(a.Created) || (a.Id < b.Id ? 1 : -1),
  );
  const showAll = opts.all || f.has('status') || f.has('exited') || (opts.limit ?? 0) > 0;
  list = list.filter((rec) => {
    if (!showAll && !rec.State.Running) return false;
    const any = (key: string, pred: (v: string) => boolean): boolean =>
      !f.has(key) || f.get(key)!.some(pred);
    if (!any('id', (v) => rec.Id.startsWith(v))) return false;
    if (!any('name', (v) => nameMatches(v, rec.Name.slice(1)))) return false;
    if (!any('status', (v) => v === rec.State.Status)) return false;
    if (!any('ancestor', (v) => ctx.matchesImage(rec, v))) return false;
    if (!any('network', (v) => v === rec.HostConfig.NetworkMode)) return false;
    if (
      !any('volume', (v) =>
        mountPointsView(rec).some((m) => [m.Name ?? m.Source, m.Destination].includes(v)),
      )
    )
      return false;
    if (!filterMatchKVList(f, 'label', rec.Config.Labels ?? {})) return false;
    if (exitedCodes.length && (rec.State.Running || !exitedCodes.includes(rec.State.ExitCode)))
      return false;
    if (exitedCodes.length && rec.State.FinishedAt.startsWith('0001-')) return false;
    if (before?.some((b) => Date.parse(rec.Created) >= Date.parse(b.Created))) return false;
    if (since?.some((s) => Date.parse(rec.Created) <= Date.parse(s.Created))) return false;
    return true;
  });
  if (opts.limit && opts.limit > 0) list = list.slice(0, opts.limit);
  return list;
}

/** ps's Ports: published ports with their host side, exposed ones without (Docker's shape). */
export function portSummary(rec: ContainerRecord): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const published = rec.State.Running ? (rec.NetworkSettings.Ports ?? {}) : {};
  const keys = new Set([...Object.keys(rec.Config.ExposedPorts ?? {}), ...Object.keys(published)]);
  for (const key of keys) {
    const [port, type = 'tcp'] = key.split('/');
    const bindings = published[key] ?? [];
    if (bindings.length === 0) out.push({ PrivatePort: Number(port), Type: type });
    for (const b of bindings)
      out.push({
        IP: b.HostIp,
        PrivatePort: Number(port),
        PublicPort: Number(b.HostPort),
        Type: type,
      });
  }
  return out;
}
