/** `docker image prune`: images no container uses, dangling ones only unless `all`. */
import { parseTimestamp } from '../api-types/index.js';
import { invalidArgument } from '../common/index.js';
import { digestHex, type Digest } from '../oci/index.js';
import { danglingFilter, matchLabels } from './filters.js';
import type { DeleteResponseItem } from './image-delete.js';
import type { ImageStore } from './image-store.js';

const PRUNE_FILTERS = new Set(['dangling', 'until', 'label', 'label!']);

export interface PruneResult {
  ImagesDeleted: DeleteResponseItem[];
  SpaceReclaimed: number;
}

/**
 * As dockerd's ImagesPrune: candidates are images no container (running or not) was created
 * from; `dangling=true` (the default) keeps those with a tag, `dangling=false` (`-a`) takes
 * tagged ones too; `until` keeps images created after the time, `label`/`label!` select by
 * labels. Each goes as `rmi -f <id>` would. SpaceReclaimed counts the layers that went.
 */
export async function pruneImages(
  store: ImageStore,
  filters: Record<string, string[]>,
  inUse: ReadonlySet<string>,
): Promise<PruneResult> {
  for (const key of Object.keys(filters)) {
    if (!PRUNE_FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  }
  for (const v of filters.dangling ?? []) {
    if (!['true', 'false', '1', '0'].includes(v.toLowerCase()))
      throw invalidArgument(`invalid filter 'dangling=${v}'`);
  }
  const danglingOnly = danglingFilter(filters.dangling) ?? true;
  const until = filters.until?.map((u) => parseTimestamp(u) * 1000);
  const candidates = [...store.images.values()].filter((img) => {
    if (inUse.has(img.id)) return false;
    if (danglingOnly && store.refsOf(img.id).some((r) => r.tag !== undefined)) return false;
    const created = img.config.created ? Date.parse(img.config.created) : 0;
    if (until && !until.every((t) => created < t)) return false;
    const labels = img.config.config?.Labels ?? undefined;
    if (filters.label && !matchLabels(filters.label, labels)) return false;
    if (filters['label!']?.length && matchLabels(filters['label!'], labels)) return false;
    return true;
  });
  const layersBefore = new Map(
    (await store.snapshots.listLayers()).map((l) => [l.chainID, l.size] as const),
  );
  const deleted: DeleteResponseItem[] = [];
  for (const img of candidates) {
    if (!store.images.has(img.id)) continue; // went with an earlier one
    const items = await store.remove(digestHex(img.id as Digest), {
      force: true,
      usedBy: (id) => (inUse.has(id) ? id : undefined),
    });
    deleted.push(...items);
  }
  const layersAfter = new Set((await store.snapshots.listLayers()).map((l) => l.chainID));
  let reclaimed = 0;
  for (const [chain, size] of layersBefore) if (!layersAfter.has(chain)) reclaimed += size;
  return { ImagesDeleted: deleted, SpaceReclaimed: reclaimed };
}
