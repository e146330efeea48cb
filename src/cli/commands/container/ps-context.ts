/** docker's ContainerContext: what `ps --format` templates see for each container. */
import type { ContainerSummary, PortSummary } from '../../../api-types/index.js';
import { makeContext } from '../../format/formatter.js';
import { goTimeString, humanSize, timeAgo } from '../../units.js';

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Label: 'LABEL',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
};

export const PS_DEFAULT_TABLE =
  'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export function truncateId(id: string): string {
  const i = id.indexOf(':');
  return (i >= 0 ? id.slice(i + 1) : id).slice(0, 12);
}

/** docker's formatter.Ellipsis: at most `max` characters, the last one "…" when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 0) return '';
  return `${chars.slice(0, max - 1).join('')}…`;
}

function comparePorts(a: PortSummary, b: PortSummary): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

export function joinHostPort(ip: string, port: number | string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 53/udp", consecutive ports as ranges. */
export function displayablePorts(ports: readonly PortSummary[]): string {
  const sorted = [...ports].sort(comparePorts);
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, first: number, last: number): string => {
    const slash = key.lastIndexOf('/');
    const ip = slash >= 0 ? key.slice(0, slash) : '';
    const type = slash >= 0 ? key.slice(slash + 1) : key;
    let group = first === last ? String(first) : `${first}-${last}`;
    if (ip !== '') group = `${ip}:${group}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== current) {
        hostMappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...hostMappings].join(', ');
}

function imageName(c: ContainerSummary, trunc: boolean): string {
  if (!c.Image) return '<no image>';
  if (!trunc) return c.Image;
  if (truncateId(c.ImageID ?? '') === truncateId(c.Image)) return truncateId(c.Image);
  const at = c.Image.indexOf('@');
  return at >= 0 ? c.Image.slice(0, at) : c.Image;
}

export interface PsContextOptions {
  trunc: boolean;
  now?: number;
}

export function psContext(c: ContainerSummary, opts: PsContextOptions): object {
  const trunc = opts.trunc;
  let names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  if (trunc) {
    const primary = names.find((n) => !n.includes('/'));
    if (primary !== undefined) names = [primary];
  }
  const labels = c.Labels ?? {};
  const mounts = (c.Mounts ?? []).map((m) => {
    const name = m.Name || m.Source;
    return trunc ? ellipsis(name, 15) : name;
  });
  const size =
    (c.SizeRootFs ?? 0) > 0
      ? `${humanSize(c.SizeRw ?? 0)} (virtual ${humanSize(c.SizeRootFs ?? 0)})`
      : humanSize(c.SizeRw ?? 0);
  return makeContext(
    '*formatter.ContainerContext',
    {
      Command: JSON.stringify(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
      CreatedAt: goTimeString(c.Created),
      ID: trunc ? truncateId(c.Id) : c.Id,
      Image: imageName(c, trunc),
      Labels: Object.keys(labels)
        .sort()
        .map((k) => `${k}=${labels[k]}`)
        .join(','),
      LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
      Mounts: mounts.join(','),
      Names: names.join(','),
      Networks: Object.keys(c.NetworkSettings?.Networks ?? {})
        .sort()
        .join(','),
      // docker 28 shows the image platform when the daemon reports one; Wharf's does not.
      Platform: null,
      Ports: displayablePorts(c.Ports ?? []),
      RunningFor: timeAgo(c.Created, opts.now),
      Size: size,
      State: c.State,
      Status: c.Status,
    },
    { Label: (name: string) => labels[name] ?? '' },
  );
}
