/**
 * Push: upload an image's layer blobs (skipping those the registry has, mounting those it
 * has in another repository we know of), its config, then its manifest under the tag.
 * Blobs are read back from the content store, which verifies them against their digest as
 * they stream. With `compression`, layers are recompressed on the fly (zstd or gzip) and a
 * new manifest is written; the config (and so the image ID and diff_ids) stays the same.
 */
import { Readable } from 'node:stream';

import { compressed, decompressed, type Compression } from '../archive/index.js';
import { invalidArgument, notFound, type Logger } from '../common/index.js';
import {
  MediaType,
  sha256Digest,
  type Descriptor,
  type Digest,
  type Manifest,
} from '../oci/index.js';
import type { Credentials, RegistryClient, Repository } from '../registry/client/index.js';
import { layerMediaType, type ImageStore } from './image-store.js';
import { shortLayerId, throttledProgress, type ProgressSink } from './progress.js';
import type { ImageRecord } from './records.js';
import {
  familiarString,
  fullName,
  parseNormalizedNamed,
  referenceString,
  withTag,
  type Reference,
} from './reference.js';

export interface PushOptions {
  credentials?: Credentials;
  /** Recompress layers before upload. */
  compression?: 'zstd' | 'gzip';
  signal?: AbortSignal;
}

export class ImagePusher {
  /** Upload slots, shared by every push of the daemon. */
  private readonly uploads: Slots;

  constructor(
    private readonly store: ImageStore,
    private readonly registry: RegistryClient,
    private readonly opts: { maxConcurrentUploads: number; logger: Logger },
  ) {
    this.uploads = new Slots(opts.maxConcurrentUploads);
  }

  /** The local images a push of `name` (+`tag`) sends; throws before any output if none. */
  targets(name: string, tag: string | undefined): Array<{ ref: Reference; image: ImageRecord }> {
    let ref = parseNormalizedNamed(name);
    if (tag) ref = withTag(ref, tag);
    if (ref.digest !== undefined) throw invalidArgument('cannot push a digest reference');
    const out: Array<{ ref: Reference; image: ImageRecord }> = [];
    if (ref.tag !== undefined) {
      const id = this.store.refs.get(referenceString(ref));
      if (id) out.push({ ref, image: this.store.images.get(id)! });
    } else {
      // No tag: every tag of the repository, as docker's push --all-tags.
      for (const [key, id] of this.store.refs) {
        const r = parseNormalizedNamed(key);
        if (r.tag !== undefined && fullName(r) === fullName(ref)) {
          out.push({ ref: r, image: this.store.images.get(id)! });
        }
      }
    }
    if (out.length === 0) {
      throw notFound(
        `An image does not exist locally with the tag: ${familiarString(ref)}`,
        'ERR_NO_SUCH_IMAGE',
      );
    }
    return out;
  }

  async push(
    ref: Reference,
    image: ImageRecord,
    sink: ProgressSink,
    opts: PushOptions,
  ): Promise<{ digest: Digest; size: number }> {
    const repo = this.registry.repository(ref, 'push', opts.credentials);
    await repo.ping(opts.signal);
    const diffIDs = image.config.rootfs.diff_ids;
    const layers = image.layers ?? [];
    if (layers.length !== diffIDs.length) {
      throw invalidArgument(`image ${image.id} has no layer blobs to push`);
    }
    const ids = diffIDs.map((d) => shortLayerId(d));
    for (const id of ids) sink({ kind: 'layer', id, status: 'Preparing' });
    const slots = this.uploads;
    const pushed: Descriptor[] = await Promise.all(
      layers.map(async (desc, i) => {
        const id = ids[i]!;
        if (slots.full) sink({ kind: 'layer', id, status: 'Waiting' });
        return slots.run(() => this.pushLayer(repo, ref, desc, id, sink, opts));
      }),
    );
    const configDesc = await this.manifestConfig(image);
    if (!(await repo.hasBlob(configDesc.digest, opts.signal))) {
      await repo.uploadBlob(
        configDesc.digest,
        configDesc.size,
        () => this.store.content.get(configDesc.digest),
        undefined,
        opts.signal,
      );
    }
    const { mediaType, bytes } = await this.manifestBytes(image, configDesc, pushed, opts);
    const tag = ref.tag ?? 'latest';
    const digest = await repo.putManifest(tag, mediaType, bytes, opts.signal);
    await this.store.addRepoDigest(image.id, { domain: ref.domain, path: ref.path, digest });
    this.opts.logger.info({ ref: familiarString(ref), digest }, 'image pushed');
    sink({ kind: 'message', status: `${tag}: digest: ${digest} size: ${bytes.length}` });
    sink({ kind: 'aux', aux: { Tag: tag, Digest: digest, Size: bytes.length } });
    return { digest, size: bytes.length };
  }

  private async pushLayer(
    repo: Repository,
    ref: Reference,
    desc: Descriptor,
    id: string,
    sink: ProgressSink,
    opts: PushOptions,
  ): Promise<Descriptor> {
    const content = this.store.content;
    if (opts.compression && compressionOf(desc.mediaType) !== opts.compression) {
      // Recompress into the content store first: the digest is then known, so the registry
      // can be asked whether it has the blob (a second push finds it; zstd's output is
      // deterministic), and the upload streams from a verified local file. The recompressed
      // blob is dropped afterwards unless an image uses it.
      const src = Readable.from((await decompressed(await content.get(desc.digest))).stream);
      const blob = await content.ingest(compressed(src, opts.compression));
      const out: Descriptor = { mediaType: layerMediaType(opts.compression), ...blob };
      try {
        await this.pushBlob(repo, ref, out, id, sink, opts.signal);
      } finally {
        await this.store.dropUnusedBlob(blob.digest);
      }
      return out;
    }
    await this.pushBlob(repo, ref, desc, id, sink, opts.signal);
    return desc;
  }

  /** One blob from the content store: skip if there, mount if known elsewhere, else upload. */
  private async pushBlob(
    repo: Repository,
    ref: Reference,
    desc: Descriptor,
    id: string,
    sink: ProgressSink,
    signal?: AbortSignal,
  ): Promise<void> {
    const content = this.store.content;
    if (await repo.hasBlob(desc.digest, signal)) {
      sink({ kind: 'layer', id, status: 'Layer already exists' });
      return;
    }
    for (const from of this.mountCandidates(ref, desc.digest)) {
      if (await repo.mountBlob(desc.digest, from, signal)) {
        sink({ kind: 'layer', id, status: `Mounted from ${from}` });
        return;
      }
    }
    const progress = throttledProgress(sink, id, 'Pushing', desc.size);
    await repo.uploadBlob(
      desc.digest,
      desc.size,
      () => content.get(desc.digest),
      (n) => progress.update(n),
      signal,
    );
    progress.flush();
    sink({ kind: 'layer', id, status: 'Pushed' });
  }

  /** Other repositories of the same registry that hold this blob (as far as we know). */
  private mountCandidates(ref: Reference, digest: Digest): string[] {
    const out = new Set<string>();
    for (const [key, imageId] of this.store.refs) {
      const r = parseNormalizedNamed(key);
      if (r.domain !== ref.domain || r.path === ref.path) continue;
      const img = this.store.images.get(imageId);
      if (img?.layers?.some((l) => l.digest === digest)) out.add(r.path);
      if (out.size >= 3) break;
    }
    return [...out];
  }

  private async manifestConfig(image: ImageRecord): Promise<Descriptor> {
    const info = await this.store.content.info(image.id);
    let mediaType: string = MediaType.OciConfig;
    if (image.manifest) {
      const m = JSON.parse(
        (await this.store.content.read(image.manifest.digest)).toString(),
      ) as Manifest;
      mediaType = m.config.mediaType;
    }
    return { mediaType, digest: image.id, size: info.size };
  }

  /** The stored manifest when layers went as they are; a new OCI manifest otherwise. */
  private async manifestBytes(
    image: ImageRecord,
    config: Descriptor,
    layers: Descriptor[],
    opts: PushOptions,
  ): Promise<{ mediaType: string; bytes: Buffer }> {
    if (image.manifest && !opts.compression) {
      return {
        mediaType: image.manifest.mediaType,
        bytes: await this.store.content.read(image.manifest.digest),
      };
    }
    const docker = config.mediaType === MediaType.DockerConfig && !opts.compression;
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
      config: {
        mediaType: docker ? config.mediaType : MediaType.OciConfig,
        digest: config.digest,
        size: config.size,
      },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    // Keep it: a later pull of this digest finds it, and `images --digests` can show it.
    await this.store.content.put(bytes, { digest: sha256Digest(bytes) });
    return { mediaType: manifest.mediaType!, bytes };
  }
}

function compressionOf(mediaType: string): Compression {
  if (mediaType.endsWith('zstd')) return 'zstd';
  if (mediaType.endsWith('gzip')) return 'gzip';
  return 'none';
}

class Slots {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly max: number) {}
  get full(): boolean {
    return this.active >= this.max;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
