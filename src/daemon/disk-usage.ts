/** `GET /system/df`: what images, containers, volumes and the build cache hold on disk. */
import { promises as fsp } from 'node:fs';

import type { BuildCacheRecord, Volume } from '../api-types/index.js';
import { invalidArgument } from '../common/index.js';
import type { Containers } from '../containers/index.js';
import { imagesDiskUsage, type ImageStore } from '../images/index.js';
import type { Digest } from '../oci/index.js';
import { dirSize, type VolumeService } from '../volumes/index.js';

/** What the builder's step cache holds (Builder.cache.list()). */
export interface BuildCacheContents {
  steps: Array<{
    key: string;
    created: string;
    lastUsed?: string;
    description: string;
    layer?: { chainID: Digest };
  }>;
  mounts: Array<{ id: string; dir: string }>;
}

const TYPES = ['container', 'image', 'volume', 'build-cache'] as const;
type DiskUsageType = (typeof TYPES)[number];

export interface DiskUsage {
  LayersSize?: number;
  Images?: unknown[];
  Containers?: unknown[];
  Volumes?: Volume[];
  BuildCache?: BuildCacheRecord[];
}

/** The object types a `type=` query asks for; none means all, as dockerd. */
export function diskUsageTypes(requested: string[]): Set<DiskUsageType> {
  if (requested.length === 0) return new Set(TYPES);
  const out = new Set<DiskUsageType>();
  for (const t of requested) {
    if (!(TYPES as readonly string[]).includes(t))
      throw invalidArgument(`unknown object type: ${t}`);
    out.add(t as DiskUsageType);
  }
  return out;
}

export async function diskUsage(
  deps: {
    images: ImageStore;
    containers: Containers;
    volumes: VolumeService;
    buildCache: () => Promise<BuildCacheContents>;
  },
  types: Set<DiskUsageType>,
): Promise<DiskUsage> {
  const out: DiskUsage = {};
  if (types.has('image')) {
    const byImage = new Map<string, number>();
    for (const r of deps.containers.svc.store.all()) {
      byImage.set(r.Image, (byImage.get(r.Image) ?? 0) + 1);
    }
    Object.assign(out, await imagesDiskUsage(deps.images, byImage));
  }
  if (types.has('container')) {
    out.Containers = await deps.containers.list({ all: true, size: true, filters: new Map() });
  }
  if (types.has('volume')) out.Volumes = await deps.volumes.usage();
  if (types.has('build-cache')) {
    out.BuildCache = await buildCacheRecords(deps.images, await deps.buildCache());
  }
  return out;
}

/**
 * The step cache as BuildKit's records: a step that made a layer is `regular`, sized by that
 * layer alone, `Shared` when an image uses the layer (removing the record frees nothing), in
 * use while a build holds it; a step without a layer (ENV, LABEL…) is a zero-size record;
 * cache mounts are `exec.cachemount`. A record whose layer is gone (an image removal took it)
 * is a miss for the builder and is not listed. LastUsedAt is a step's last cache hit (its
 * file's mtime); use counts are not kept (0).
 */
async function buildCacheRecords(
  images: ImageStore,
  cache: BuildCacheContents,
): Promise<BuildCacheRecord[]> {
  const layers = new Map((await images.snapshots.listLayers()).map((l) => [l.chainID, l]));
  const used = new Set<Digest>();
  for (const img of images.images.values()) {
    for (let c = img.chainID; c !== undefined; c = layers.get(c)?.parent) used.add(c);
  }
  const out: BuildCacheRecord[] = [];
  for (const step of cache.steps) {
    const layer = step.layer && layers.get(step.layer.chainID);
    if (step.layer && !layer) continue;
    out.push({
      ID: step.key.slice(0, 25),
      Parents: null,
      Type: 'regular',
      Description: step.description,
      InUse: layer ? images.leased(layer.chainID) : false,
      Shared: layer ? used.has(layer.chainID) : false,
      Size: layer?.size ?? 0,
      CreatedAt: step.created,
      LastUsedAt: step.lastUsed ?? null,
      UsageCount: 0,
    });
  }
  for (const m of cache.mounts) {
    const st = await fsp.stat(m.dir).catch(() => undefined);
    if (!st) continue;
    out.push({
      ID: m.id.slice(0, 25),
      Parents: null,
      Type: 'exec.cachemount',
      Description: `cache mount ${m.id.slice(0, 12)}`,
      InUse: false,
      Shared: false,
      Size: await dirSize(m.dir).catch(() => 0),
      CreatedAt: st.birthtime.toISOString(),
      LastUsedAt: st.mtime.toISOString(),
      UsageCount: 0,
    });
  }
  return out;
}
