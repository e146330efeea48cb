/** `wharf system df`: disk usage of images, containers, volumes and the build cache. */
import type {
  BuildCacheRecord,
  ContainerSummary,
  DiskUsageResponse,
  ImageSummary,
  Volume,
} from '../../../api-types/index.js';
import { FORMAT_FLAG, type CommandSpec } from '../../command.js';
import { makeContext, renderList } from '../../format/formatter.js';
import { humanSize, timeAgo } from '../../units.js';
import { psContext, PS_HEADERS } from '../container/ps-context.js';
import { imageContexts, IMAGES_HEADERS } from '../image/images-context.js';
import { VOLUME_HEADERS, volumeContext } from '../volume/volume-context.js';

const SUMMARY_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const SUMMARY_HEADERS = {
  Type: 'TYPE',
  TotalCount: 'TOTAL',
  Active: 'ACTIVE',
  Size: 'SIZE',
  Reclaimable: 'RECLAIMABLE',
};
const IMAGES_TABLE =
  'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const CONTAINERS_TABLE =
  'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const VOLUMES_TABLE = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';
const CACHE_TABLE =
  'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}';
const CACHE_HEADERS = {
  ID: 'CACHE ID',
  CacheType: 'CACHE TYPE',
  Size: 'SIZE',
  CreatedSince: 'CREATED',
  LastUsedSince: 'LAST USED',
  UsageCount: 'USAGE',
  Shared: 'SHARED',
};

/** docker's Reclaimable column: "1.2MB (40%)", the percentage only when there is a total. */
function reclaimable(bytes: number, total: number): string {
  const size = humanSize(bytes, 4);
  return total > 0 ? `${size} (${Math.trunc((bytes * 100) / total)}%)` : size;
}

const ACTIVE_STATES = new Set(['running', 'paused', 'restarting']);

interface SummaryRow {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}

function row(type: string, total: number, active: number, size: string, recl: string): object {
  // Keys in the order docker's `--format json` writes them (a sorted map).
  return makeContext<SummaryRow>('diskUsageContext', {
    Active: String(active),
    Reclaimable: recl,
    Size: size,
    TotalCount: String(total),
    Type: type,
  });
}

/** The four summary rows, computed as docker's formatter does from the same response. */
export function summaryRows(du: DiskUsageResponse): object[] {
  const images = du.Images ?? [];
  const layers = du.LayersSize ?? 0;
  let imagesUsed = 0;
  for (const i of images) {
    if (i.Containers !== 0 && i.Size !== -1 && i.SharedSize !== -1) {
      imagesUsed += i.Size - i.SharedSize;
    }
  }
  const containers = du.Containers ?? [];
  let ctrSize = 0;
  let ctrFree = 0;
  for (const c of containers) {
    ctrSize += c.SizeRw ?? 0;
    if (!ACTIVE_STATES.has(c.State)) ctrFree += c.SizeRw ?? 0;
  }
  const volumes = du.Volumes ?? [];
  let volSize = 0;
  let volFree = 0;
  for (const v of volumes) {
    const size = v.UsageData?.Size ?? -1;
    if (size === -1) continue;
    volSize += size;
    if ((v.UsageData?.RefCount ?? 0) === 0) volFree += size;
  }
  const cache = du.BuildCache ?? [];
  let cacheSize = 0;
  let cacheFree = 0;
  for (const b of cache) {
    if (b.Shared) continue;
    cacheSize += b.Size;
    if (!b.InUse) cacheFree += b.Size;
  }
  return [
    row(
      'Images',
      images.length,
      images.filter((i) => i.Containers > 0).length,
      humanSize(layers, 4),
      reclaimable(layers - imagesUsed, layers),
    ),
    row(
      'Containers',
      containers.length,
      containers.filter((c) => ACTIVE_STATES.has(c.State)).length,
      humanSize(ctrSize, 4),
      reclaimable(ctrFree, ctrSize),
    ),
    row(
      'Local Volumes',
      volumes.length,
      volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length,
      humanSize(volSize, 4),
      reclaimable(volFree, volSize),
    ),
    row(
      'Build Cache',
      cache.length,
      cache.filter((b) => b.InUse).length,
      humanSize(cacheSize, 4),
      humanSize(cacheFree, 4),
    ),
  ];
}

function cacheContext(b: BuildCacheRecord): object {
  const seconds = (t: string | null): number => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  return makeContext('buildCacheContext', {
    ID: b.InUse ? `${b.ID.slice(0, 12)}*` : b.ID.slice(0, 12),
    CacheType: b.Type,
    // Three significant digits here, as the docker CLI (its totals have four).
    Size: humanSize(b.Size),
    CreatedSince: timeAgo(seconds(b.CreatedAt)),
    LastUsedSince: b.LastUsedAt ? timeAgo(seconds(b.LastUsedAt)) : '',
    UsageCount: String(b.UsageCount),
    Shared: String(b.Shared),
  });
}

/** docker's order: never used first, then by last use, oldest first; ties by ID. */
function sortCache(cache: BuildCacheRecord[]): BuildCacheRecord[] {
  const used = (b: BuildCacheRecord): number =>
    b.LastUsedAt ? Date.parse(b.LastUsedAt) : Number.NEGATIVE_INFINITY;
  return [...cache].sort((a, b) => used(a) - used(b) || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
}

function verbose(du: DiskUsageResponse): string {
  const images: ImageSummary[] = du.Images ?? [];
  const containers: ContainerSummary[] = du.Containers ?? [];
  const volumes: Volume[] = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  let cacheSize = 0;
  for (const b of cache) if (!b.Shared) cacheSize += b.Size;
  const imageRows = images.flatMap((i) => imageContexts(i, { trunc: true, digests: false }));
  return [
    'Images space usage:\n\n',
    renderList('', IMAGES_TABLE, imageRows, IMAGES_HEADERS),
    '\nContainers space usage:\n\n',
    renderList(
      '',
      CONTAINERS_TABLE,
      // docker shows only the writable layer here, not the "(virtual …)" size.
      containers.map((c) => psContext({ ...c, SizeRootFs: 0 }, { trunc: true })),
      PS_HEADERS,
    ),
    '\nLocal Volumes space usage:\n\n',
    renderList('', VOLUMES_TABLE, volumes.map(volumeContext), VOLUME_HEADERS),
    `\nBuild cache usage: ${humanSize(cacheSize, 4)}\n\n`,
    renderList('', CACHE_TABLE, sortCache(cache).map(cacheContext), CACHE_HEADERS),
  ].join('');
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Show Wharf disk usage',
  aliases: ['wharf system df'],
  flags: [
    FORMAT_FLAG,
    { name: 'verbose', short: 'v', type: 'bool', help: 'Show detailed information on space usage' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const client = await cli.client();
    const du = await client.diskUsage();
    if (f.bool('verbose')) {
      cli.stdout.write(verbose(du));
      return 0;
    }
    cli.stdout.write(renderList(f.str('format'), SUMMARY_TABLE, summaryRows(du), SUMMARY_HEADERS));
    return 0;
  },
};
