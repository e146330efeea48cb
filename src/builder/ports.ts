/**
 * What the builder needs from the engine below it. The daemon wires these to the image
 * store, the snapshotter and the container service; keeping them narrow keeps the executor
 * testable and the wiring in one place (daemon/engine.ts).
 */
import type { Readable } from 'node:stream';

import type { ContainerCreateRequest } from '../api-types/index.js';
import type { Descriptor, Digest, ImageConfig } from '../oci/index.js';

/** An image as a build starts from it: its config and layers. */
export interface BaseImage {
  id: Digest;
  config: ImageConfig;
  /** The manifest's layer blobs, one per diff_id. */
  layers: Descriptor[];
}

export interface IngestedLayer {
  descriptor: Descriptor;
  diffID: Digest;
  chainID: Digest;
}

export interface BuilderImages {
  /** A local image by reference or ID (NotFound as "No such image: x"). */
  resolve(ref: string): Promise<BaseImage>;
  /** Pull `ref` from its registry; progress as docker's JSON messages. */
  pull(
    ref: string,
    onMessage: (m: Record<string, unknown>) => void,
    signal: AbortSignal,
    registryAuth?: Record<string, unknown>,
    /** `os/arch[/variant]` to choose from an index (the daemon's default when absent). */
    platform?: string,
  ): Promise<void>;
  /** A layer tar stored as a blob and unpacked on `parentChainID`. */
  ingestLayer(tar: Readable, parentChainID: Digest | undefined): Promise<IngestedLayer>;
  /** Store config and manifest and point `refs` (`repo:tag` strings) at the image. */
  createImage(config: ImageConfig, layers: Descriptor[], refs: string[]): Promise<Digest>;
  /** Drop a layer and blob no image uses; the bytes reclaimed (0 when kept). */
  dropUnused(layer: IngestedLayer): Promise<number>;
  /** Whether every blob and the chain's unpacked layers are present. */
  hasLayers(layers: Descriptor[], chainID: Digest | undefined): Promise<boolean>;
}

/** Writable snapshots for COPY/ADD/WORKDIR, mounted on the host (keys are the builder's). */
export interface BuilderSnapshots {
  prepare(key: string, parentChainID: Digest | undefined): Promise<void>;
  mount(key: string, target: string): Promise<void>;
  unmount(target: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** The key's changes as a layer tar (overlay upper dir → Docker layer). */
  diff(key: string): Promise<Readable>;
}

/** The state a RUN container starts from, registered under an ID the container service resolves. */
export interface RunImage {
  id: string;
  config: ImageConfig['config'];
  chainID: Digest | undefined;
}

export interface BuilderContainers {
  /** Make `image` resolvable for container create until the returned function is called. */
  register(image: RunImage): () => void;
  create(req: ContainerCreateRequest): Promise<string>;
  start(id: string): Promise<void>;
  /** The container's output (stdout and stderr) until it exits. */
  output(id: string, signal: AbortSignal): AsyncIterable<Buffer>;
  wait(id: string): Promise<number>;
  /** The container's changes as a layer tar, without `exclude`; call done() when consumed. */
  diff(id: string, exclude?: string[]): Promise<{ layer: Readable; done(): Promise<void> }>;
  remove(id: string): Promise<void>;
}

export interface BuilderPorts {
  images: BuilderImages;
  snapshots: BuilderSnapshots;
  containers: BuilderContainers;
}
