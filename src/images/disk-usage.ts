/** The images part of `GET /system/df`: sizes with the sharing between images made visible. */
import type { ImageSummary } from '../api-types/index.js';
import type { Digest } from '../oci/index.js';
import type { LayerInfo } from '../snapshots/index.js';
import type { ImageStore } from './image-store.js';

export interface ImagesDiskUsage {
  /** Bytes of every unpacked layer on disk, each counted once however many images share it. */
  LayersSize: number;
  /** Image summaries with `SharedSize` and `Containers` filled in (the list leaves them -1). */
  Images: ImageSummary[];
}

/**
 * `SharedSize` of an image is the part of its `Size` in layers that another image also uses:
 * what removing the image alone would not free. `containers` counts the containers created
 * from each image (by image ID), running or not.
 */
export async function imagesDiskUsage(
  store: ImageStore,
  containers: ReadonlyMap<string, number>,
): Promise<ImagesDiskUsage> {
  const layers = new Map<Digest, LayerInfo>();
  for (const l of await store.snapshots.listLayers()) layers.set(l.chainID, l);

  const chains = new Map<Digest, Digest[]>();
  const users = new Map<Digest, number>();
  for (const img of store.images.values()) {
    const chain: Digest[] = [];
    for (let c = img.chainID; c !== undefined; c = layers.get(c)?.parent) chain.push(c);
    chains.set(img.id, chain);
    for (const c of chain) users.set(c, (users.get(c) ?? 0) + 1);
  }

  const summaries = await store.list({ all: true });
  const Images = summaries.map((s) => {
    const chain = chains.get(s.Id as Digest) ?? [];
    let shared = 0;
    for (const c of chain) if ((users.get(c) ?? 0) > 1) shared += layers.get(c)?.size ?? 0;
    return { ...s, SharedSize: shared, Containers: containers.get(s.Id) ?? 0 };
  });
  let LayersSize = 0;
  for (const l of layers.values()) LayersSize += l.size;
  return { LayersSize, Images };
}
