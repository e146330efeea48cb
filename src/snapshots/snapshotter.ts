import type { Readable } from 'node:stream';

import type { Compression } from '../archive/index.js';
import type { Digest, OciMount } from '../oci/index.js';

/**
 * Snapshots are filesystem trees for containers, built from image layers.
 *
 * Vocabulary (containerd's):
 *   committed layer  an unpacked, immutable layer keyed by its chain ID, shared by every image
 *                    whose layer stack starts with the same diffIDs. Created by `applyLayer`
 *                    on top of its parent chain; visible only once complete.
 *   active snapshot  a container's writable layer (upper + work dirs) over a committed chain;
 *                    created by `prepare`, mounted with `mount`, dropped with `remove`.
 *
 * Lifecycle: applyLayer(parent, tar) → prepare(id, chainID) → mount(id, target) →
 *            unmount(target) → remove(id) → removeLayer(chainID) once nothing uses it.
 */
export interface LayerInfo {
  chainID: Digest;
  diffID: Digest;
  parent?: Digest;
  /** Bytes of file content in this layer alone. */
  size: number;
  /** The layer's uncompressed tar length. */
  tarSize: number;
  created: string;
}

export interface ApplyLayerOptions {
  /** Refuse (and discard) the unpacked layer unless its diffID is this one. */
  expectedDiffID?: Digest;
  /**
   * Awaited after the layer is unpacked and before it is committed; if it rejects the unpack
   * is discarded. A pull unpacks layers in parallel and passes here "the parent layer is
   * committed and this layer's compressed blob verified", so a layer becomes visible only
   * in chain order and only once its download is known good. The parent is checked after
   * this, instead of before unpacking.
   */
  commitAfter?: Promise<unknown>;
}

export interface Usage {
  size: number;
  inodes: number;
}

export interface Snapshotter {
  hasLayer(chainID: Digest): Promise<boolean>;
  layer(chainID: Digest): Promise<LayerInfo>;
  listLayers(): Promise<LayerInfo[]>;
  applyLayer(
    parent: Digest | undefined,
    tar: Readable | AsyncIterable<Uint8Array>,
    opts?: ApplyLayerOptions,
  ): Promise<LayerInfo & { compression: Compression }>;
  removeLayer(chainID: Digest): Promise<void>;
  /** Unpacked directories of a chain, top layer first ([] for undefined). */
  diffDirs(chainID: Digest | undefined): Promise<string[]>;
  prepare(id: string, parent: Digest | undefined): Promise<void>;
  mount(id: string, target: string, readonly?: boolean): Promise<void>;
  unmount(target: string): Promise<void>;
  isMounted(target: string): Promise<boolean>;
  /** The snapshot as a container's root mount, for the runtime to make (see overlay.ts). */
  rootfsMount(id: string, parent?: Digest | ''): Promise<OciMount | undefined>;
  remove(id: string): Promise<void>;
  /** Writable-layer paths of an active snapshot (for inspect's GraphDriver data). */
  snapshotDirs(id: string): { upper: string; work: string };
  usage(what: { chainID: Digest } | { id: string }): Promise<Usage>;
}
