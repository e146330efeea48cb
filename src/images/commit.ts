/** `docker commit`: a container's changes as a new layer on top of its image. */
import type { Readable } from 'node:stream';

import { invalidArgument } from '../common/index.js';
import type { Descriptor, Digest, ImageConfig, ImageConfigConfig } from '../oci/index.js';
import { applyChanges } from './changes.js';
import { layerMediaType, type ImageStore } from './image-store.js';
import type { Lease } from './lease.js';
import type { ImageRecord } from './records.js';
import { repoTagReference, type Reference } from './reference.js';

export interface CommitOptions {
  /** The image the container was created from (its ID). */
  parent: string;
  /** The container's changes as an uncompressed layer tar (archive/overlayDiff). */
  layer: Readable;
  /** The container's Config: what the new image runs by default. */
  config: ImageConfigConfig;
  /** Dockerfile instructions applied to that config (`--change`). */
  changes?: string[];
  containerId: string;
  /** `repo[:tag]`; an untagged (dangling) image without one. */
  ref?: string;
  author?: string;
  comment?: string;
  /** The history entry's created_by: the container's command. */
  createdBy: string;
}

/**
 * As dockerd's CreateImageFromContainer: the parent's layers plus one new layer (always, even
 * an empty one), the container's config with the changes applied, a history entry naming the
 * command, `container` set to the container's ID. Blob and layer go in first, the record and
 * tag last (ImageStore.createImage), so a failure leaves no image half-made.
 */
export async function commitImage(store: ImageStore, opts: CommitOptions): Promise<{ id: Digest }> {
  const ref = opts.ref ? repoTagReference(opts.ref) : undefined;
  const parent = store.resolveSync(opts.parent);
  const lease = store.lease();
  try {
    return await commitLayer(store, opts, parent, ref, lease);
  } finally {
    lease.release();
  }
}

async function commitLayer(
  store: ImageStore,
  opts: CommitOptions,
  parent: ImageRecord,
  ref: Reference | undefined,
  lease: Lease,
): Promise<{ id: Digest }> {
  const runtime = applyChanges(opts.config, opts.changes ?? []);
  const { blob, layer } = await store.ingestLayer(opts.layer, parent.chainID, lease);
  const created = new Date().toISOString();
  const history = [
    ...(parent.config.history ?? []),
    {
      created,
      created_by: opts.createdBy,
      ...(opts.author ? { author: opts.author } : {}),
      ...(opts.comment ? { comment: opts.comment } : {}),
    },
  ];
  const config: ImageConfig & { container?: string } = {
    architecture: parent.config.architecture,
    os: parent.config.os,
    ...(parent.config.variant ? { variant: parent.config.variant } : {}),
    created,
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
    container: opts.containerId,
    config: runtime,
    rootfs: { type: 'layers', diff_ids: [...parent.config.rootfs.diff_ids, layer.diffID] },
    history,
  };
  const layers: Descriptor[] = [
    ...(parent.layers ?? []),
    { mediaType: layerMediaType(layer.compression), digest: blob.digest, size: blob.size },
  ];
  if (layers.length !== config.rootfs.diff_ids.length) {
    throw invalidArgument(`image ${opts.parent} has no layer blobs to build on`);
  }
  return store.storeImage({ config, layers, refs: ref ? [ref] : [], lease });
}
