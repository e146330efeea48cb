/**
 * One layer of a pull: the blob streams from the registry into the content store (verified
 * against the manifest's digest and size) and, at the same time, through decompression into
 * the snapshotter (verified against the config's diffID). Nothing is buffered whole. The layer
 * is committed only after its blob verified and its parent committed (`commitAfter`), so a
 * pull killed at any instant leaves either complete, verified blobs and layers, or temp files
 * that the stores delete when they open.
 */
import { PassThrough, type Readable } from 'node:stream';

import type { ContentStore } from '../content/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import type { Snapshotter } from '../snapshots/index.js';

export interface LayerTarget {
  desc: Descriptor;
  diffID: Digest;
  parent: Digest | undefined;
  /** Resolves when the parent layer is committed (undefined for the base layer). */
  parentCommitted: Promise<unknown>;
}

/**
 * Feed `body` to the content store and (unless `unpack` is false) to the snapshotter.
 * Resolves with `blob` as soon as the blob is committed (the download is done) and with
 * `layer` once the layer is committed.
 */
export function ingestAndUnpack(
  content: ContentStore,
  snapshots: Snapshotter,
  body: Readable,
  target: LayerTarget,
  unpack: boolean,
): { blob: Promise<void>; layer: Promise<void> } {
  const toContent = new PassThrough();
  const toLayer = unpack ? new PassThrough() : undefined;
  const stopAll = (e: unknown): void => {
    body.unpipe();
    body.destroy(e as Error);
    toContent.destroy(e as Error);
    toLayer?.destroy(e as Error);
  };
  body.on('error', stopAll);
  // Errors reach the consumers through iteration; these keep an early one from going unheard.
  toContent.on('error', () => {});
  toLayer?.on('error', () => {});
  body.pipe(toContent);
  if (toLayer) body.pipe(toLayer);
  const blob = content
    .ingest(toContent, { digest: target.desc.digest, size: target.desc.size })
    .then(
      () => undefined,
      (e: unknown) => {
        stopAll(e);
        throw e;
      },
    );
  if (!toLayer) return { blob, layer: blob };
  const layer = snapshots
    .applyLayer(target.parent, toLayer, {
      expectedDiffID: target.diffID,
      commitAfter: Promise.all([blob, target.parentCommitted]),
    })
    .then(
      () => undefined,
      (e: unknown) => {
        stopAll(e);
        throw e;
      },
    );
  // Both are awaited by the caller; mark them handled so an early rejection is not fatal.
  blob.catch(() => {});
  layer.catch(() => {});
  return { blob, layer };
}
