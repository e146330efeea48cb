/**
 * Load (`POST /images/load`): the archive is spooled to a temp directory under the data root
 * (`load-spool.ts`), planned and checked (`load-plan.ts`), then each image's config and layer
 * blobs go into the content store (verified against the digests the archive claims) and each
 * layer is unpacked through the snapshotter (verified against the config's diff_ids), as a
 * pull does. Images are recorded and tagged only once every image of the archive is in, via
 * the path a pull uses (`ImageStore.createImage`); a failure before that removes the blobs
 * and layers this load added, so a bad archive leaves nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { decompressed, detectCompression, type Compression } from '../archive/index.js';
import { errorMessage, invalidArgument, type Logger } from '../common/index.js';
import { chainIDs, MediaType, sha256Digest, type Descriptor, type Digest } from '../oci/index.js';
import { layerMediaType, type ImageStore } from './image-store.js';
import type { Lease } from './lease.js';
import { planLoad, type ImagePlan, type LayerSource } from './load-plan.js';
import { SpooledArchive } from './load-spool.js';
import { shortLayerId, throttledProgress, type ProgressEvent } from './progress.js';
import { familiarString, referenceString } from './reference.js';

/** Progress of a load: docker's `{"stream": "Loaded image: …\n"}` lines besides layer bars. */
export type LoadEvent = ProgressEvent | { kind: 'stream'; text: string };

export interface LoadedImage {
  id: Digest;
  /** Familiar tags set by the load. */
  tags: string[];
}

export class ImageLoader {
  constructor(
    private readonly store: ImageStore,
    /** Private scratch space under the data root; emptied at start. */
    private readonly tmpRoot: string,
    private readonly logger: Logger,
  ) {}

  /** Delete what a load killed mid-way left behind. */
  async init(): Promise<void> {
    await fsp.rm(this.tmpRoot, { recursive: true, force: true });
    await fsp.mkdir(this.tmpRoot, { recursive: true, mode: 0o700 });
  }

  async load(
    body: Readable | AsyncIterable<Buffer>,
    sink: (e: LoadEvent) => void,
    opts: { quiet?: boolean } = {},
  ): Promise<LoadedImage[]> {
    const dir = path.join(this.tmpRoot, randomBytes(8).toString('hex'));
    await fsp.mkdir(dir, { mode: 0o700 });
    try {
      const arc = await SpooledArchive.spool(body, dir);
      const plans = await planLoad(arc);
      const added = { blobs: [] as Digest[], layers: [] as Digest[] };
      const ingested: Array<{ plan: ImagePlan; layers: Descriptor[] }> = [];
      const out: LoadedImage[] = [];
      const lease = this.store.lease();
      try {
        for (const plan of plans) {
          ingested.push({ plan, layers: await this.ingest(arc, plan, added, lease, sink, opts) });
        }
        for (const { plan, layers } of ingested) {
          out.push(await this.register(plan, layers, lease, sink));
        }
      } catch (err) {
        // Only what no recorded image uses and no other operation holds is dropped: images
        // registered before a failure, and what a concurrent pull has or needs, stay.
        lease.release();
        await this.rollback(added);
        throw err;
      } finally {
        lease.release();
      }
      return out;
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  /** Config and layer blobs into the content store, layers into the snapshotter. */
  private async ingest(
    arc: SpooledArchive,
    plan: ImagePlan,
    added: { blobs: Digest[]; layers: Digest[] },
    lease: Lease,
    sink: (e: LoadEvent) => void,
    opts: { quiet?: boolean },
  ): Promise<Descriptor[]> {
    const { content, snapshots } = this.store;
    lease.hold(plan.configDigest);
    await content.put(plan.configBytes, { digest: plan.configDigest });
    added.blobs.push(plan.configDigest);
    const diffIDs = plan.config.rootfs.diff_ids;
    const chain = chainIDs(diffIDs);
    const out: Descriptor[] = [];
    for (const [i, layer] of plan.layers.entries()) {
      const file = arc.path(layer.name);
      const fail = (e: unknown): never => {
        throw invalidArgument(`invalid archive: layer ${layer.name}: ${errorMessage(e)}`, e);
      };
      const mediaType =
        layer.mediaType ?? mediaTypeOf(detectCompression(await arc.head(layer.name)));
      if (await this.alreadyHave(file, layer, diffIDs[i]!, chain[i]!, lease, sink, opts)) {
        const { size } = await content.info(diffIDs[i]!);
        out.push({ mediaType, digest: diffIDs[i]!, size });
        continue;
      }
      const info = await content
        .ingest(this.read(file, diffIDs[i]!, sink, opts), {
          ...(layer.digest ? { digest: layer.digest } : {}),
          ...(layer.size !== undefined ? { size: layer.size } : {}),
        })
        .catch(fail);
      added.blobs.push(info.digest);
      lease.hold(info.digest);
      if (await this.store.hasLayer(lease, chain[i]!)) {
        // Already unpacked by another image: still check this blob is that layer.
        if (info.digest !== diffIDs[i]) await this.checkDiffID(file, diffIDs[i]!).catch(fail);
      } else {
        await snapshots
          .applyLayer(i === 0 ? undefined : chain[i - 1], createReadStream(file), {
            expectedDiffID: diffIDs[i]!,
          })
          .catch(fail);
        added.layers.push(chain[i]!);
      }
      out.push({ mediaType, digest: info.digest, size: info.size });
    }
    return out;
  }

  /**
   * Whether an uncompressed layer is both unpacked and stored already (the common case of
   * reloading, or of a base layer shared with images present): then the archive's file is
   * only hashed, not copied into the content store and unpacked again.
   */
  private async alreadyHave(
    file: string,
    layer: LayerSource,
    diffID: Digest,
    chainID: Digest,
    lease: Lease,
    sink: (e: LoadEvent) => void,
    opts: { quiet?: boolean },
  ): Promise<boolean> {
    if (layer.digest !== undefined && layer.digest !== diffID) return false;
    if (!(await this.store.hasLayer(lease, chainID))) return false;
    if (!(await this.store.hasBlob(lease, diffID))) return false;
    const h = createHash('sha256');
    for await (const c of this.read(file, diffID, sink, opts)) h.update(c);
    const got = `sha256:${h.digest('hex')}` as Digest;
    if (got === diffID) return true;
    if (layer.digest !== undefined) {
      throw invalidArgument(
        `invalid archive: layer ${layer.name}: digest mismatch: got ${got}, expected ${diffID}`,
      );
    }
    return false; // a legacy layer.tar that is compressed: ingested and checked as usual
  }

  /** A layer file, reporting "Loading layer" progress as it is read. */
  private async *read(
    file: string,
    diffID: Digest,
    sink: (e: LoadEvent) => void,
    opts: { quiet?: boolean },
  ): AsyncGenerator<Buffer> {
    const { size } = await fsp.stat(file);
    const progress = opts.quiet
      ? undefined
      : throttledProgress(sink, shortLayerId(diffID), 'Loading layer', size);
    let n = 0;
    for await (const c of createReadStream(file)) {
      n += (c as Buffer).length;
      progress?.update(n);
      yield c as Buffer;
    }
    progress?.flush();
  }

  private async checkDiffID(file: string, diffID: Digest): Promise<void> {
    const { stream } = await decompressed(createReadStream(file));
    const h = createHash('sha256');
    for await (const c of stream) h.update(c);
    const got = `sha256:${h.digest('hex')}`;
    if (got !== diffID) {
      throw invalidArgument(`layer diffID mismatch: got ${got}, expected ${diffID}`);
    }
  }

  /** Record the image and its tags, the way a pull does. */
  private async register(
    plan: ImagePlan,
    layers: Descriptor[],
    lease: Lease,
    sink: (e: LoadEvent) => void,
  ): Promise<LoadedImage> {
    const { content } = this.store;
    let manifest = plan.manifest?.desc;
    if (plan.manifest) {
      await content.put(plan.manifest.bytes, { digest: plan.manifest.desc.digest });
    } else {
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: {
            mediaType: MediaType.OciConfig,
            digest: plan.configDigest,
            size: plan.configBytes.length,
          },
          layers,
        }),
      );
      manifest = {
        mediaType: MediaType.OciManifest,
        ...(await content.put(bytes, { digest: sha256Digest(bytes) })),
      };
    }
    const previous = new Map(plan.tags.map((t) => [t, this.store.refs.get(referenceString(t))]));
    const { id } = await this.store.createImage({
      config: plan.config,
      configDigest: plan.configDigest,
      manifest: manifest!,
      layers,
      refs: plan.tags,
      lease,
    });
    for (const [t, prev] of previous) {
      if (prev !== undefined && prev !== id) {
        sink({
          kind: 'stream',
          text: `The image ${familiarString(t)} already exists, renaming the old one with ID ${prev} to empty string\n`,
        });
      }
    }
    const tags = plan.tags.map(familiarString);
    for (const t of tags) sink({ kind: 'stream', text: `Loaded image: ${t}\n` });
    if (tags.length === 0) sink({ kind: 'stream', text: `Loaded image ID: ${id}\n` });
    this.logger.info({ id, tags }, 'image loaded');
    return { id, tags };
  }

  private async rollback(added: { blobs: Digest[]; layers: Digest[] }): Promise<void> {
    for (const c of added.layers.reverse()) {
      await this.store.dropUnusedLayer(c).catch((err: unknown) => {
        this.logger.warn({ err, layer: c }, 'load: could not remove a layer of a failed load');
      });
    }
    for (const d of added.blobs) {
      await this.store.dropUnusedBlob(d).catch((err: unknown) => {
        this.logger.warn({ err, blob: d }, 'load: could not remove a blob of a failed load');
      });
    }
  }
}

function mediaTypeOf(c: ReturnType<typeof detectCompression>): string {
  if (c === 'bzip2' || c === 'xz') {
    throw invalidArgument(`invalid archive: unsupported layer compression: ${c}`);
  }
  return layerMediaType(c as Compression);
}
