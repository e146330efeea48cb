/** `GET /system/df`: what images, containers, volumes and the build cache hold on disk. */
import type { Volume } from '../api-types/index.js';
import { invalidArgument } from '../common/index.js';
import type { Containers } from '../containers/index.js';
import { imagesDiskUsage, type ImageStore } from '../images/index.js';
import type { VolumeService } from '../volumes/index.js';

const TYPES = ['container', 'image', 'volume', 'build-cache'] as const;
type DiskUsageType = (typeof TYPES)[number];

export interface DiskUsage {
  LayersSize?: number;
  Images?: unknown[];
  Containers?: unknown[];
  Volumes?: Volume[];
  BuildCache?: unknown[];
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
  deps: { images: ImageStore; containers: Containers; volumes: VolumeService },
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
  // Not reported yet: the builder's step cache (cleared by builder prune) is left out.
  if (types.has('build-cache')) out.BuildCache = [];
  return out;
}
