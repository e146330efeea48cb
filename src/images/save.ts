/**
 * Save (`GET /images/get`): images as one tar in the combined form Docker 25+ writes — an OCI
 * image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) that also carries the
 * docker-archive `manifest.json` and `repositories`, so Docker 20.10 and OCI tools load it.
 *
 * Layer blobs go out as stored (uncompressed or gzip: every `docker load` reads both). zstd
 * blobs are written decompressed (Docker before 25 cannot read them), so such an image gets
 * a new OCI manifest in the archive. Every blob is re-verified against its digest as it
 * streams; a mismatch fails the stream (the consumer sees a truncated tar, never bad bytes
 * passed off as good).
 *
 * Names are resolved before the first byte, so an unknown image is a plain 404.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { decompressed, encodeHeader, END_OF_ARCHIVE, padding } from '../archive/index.js';
import { internal } from '../common/index.js';
import {
  chainIDs,
  MediaType,
  sha256Digest,
  type Descriptor,
  type Digest,
  type Manifest,
} from '../oci/index.js';
import { blobPath, saveMetadata, type SavedImage } from './archive-format.js';
import { noSuchImage, type ImageStore } from './image-store.js';
import type { ImageRecord } from './records.js';
import {
  familiarString,
  fullName,
  parseAnyReference,
  parseNormalizedNamed,
  referenceString,
  type Reference,
} from './reference.js';

/** One blob of the archive: read from the content store, maybe decompressed on the way. */
interface BlobSource {
  digest: Digest;
  size: number;
  /** The stored blob to read. */
  from: Digest;
  decompress: boolean;
}

/** Which images (and which of their tags) `names` select, as docker save resolves them. */
export function selectImages(
  store: ImageStore,
  names: string[],
): Array<{ image: ImageRecord; tags: Reference[] }> {
  const picked = new Map<Digest, Reference[]>();
  const add = (id: Digest, tag?: Reference): void => {
    const tags = picked.get(id) ?? [];
    if (tag && !tags.some((t) => referenceString(t) === referenceString(tag))) tags.push(tag);
    picked.set(id, tags);
  };
  for (const name of names) {
    const any = parseAnyReference(name);
    if (any.kind === 'id') {
      add(store.resolveSync(name).id);
      continue;
    }
    const ref = any.ref;
    if (ref.digest !== undefined) {
      add(store.resolveSync(name).id);
    } else if (ref.tag !== undefined) {
      const id = store.refs.get(referenceString(ref));
      if (id === undefined) throw noSuchImage(familiarString(ref));
      add(id, ref);
    } else {
      // A bare repository saves every tag of it; failing that, it may be an ID prefix.
      let found = false;
      for (const [key, id] of store.refs) {
        const r = parseNormalizedNamed(key);
        if (r.tag !== undefined && r.digest === undefined && fullName(r) === fullName(ref)) {
          add(id, r);
          found = true;
        }
      }
      if (!found) add(store.resolveSync(name).id);
    }
  }
  return [...picked].map(([id, tags]) => ({ image: store.images.get(id)!, tags }));
}

/**
 * Resolve `names` and return the archive as a stream (errors before it are thrown), with the
 * IDs of the images it holds.
 */
export async function saveImages(
  store: ImageStore,
  names: string[],
): Promise<{ tar: Readable; ids: Digest[] }> {
  const selected = selectImages(store, names);
  const blobs = new Map<Digest, BlobSource>();
  const saved: SavedImage[] = [];
  const extra = new Map<Digest, Buffer>(); // manifests made for the archive only
  for (const { image, tags } of selected) {
    const plan = await planImage(store, image);
    for (const b of plan.blobs) blobs.set(b.digest, b);
    if (plan.manifestBytes) extra.set(plan.manifest.digest, plan.manifestBytes);
    saved.push({ configDigest: image.id, manifest: plan.manifest, layers: plan.layers, tags });
  }
  const tar = Readable.from(archiveChunks(store, blobs, extra, saveMetadata(saved)), {
    objectMode: false,
  });
  return { tar, ids: saved.map((s) => s.configDigest) };
}

async function planImage(
  store: ImageStore,
  image: ImageRecord,
): Promise<{
  blobs: BlobSource[];
  layers: Digest[];
  manifest: Descriptor;
  manifestBytes?: Buffer;
}> {
  const { content, snapshots } = store;
  const diffIDs = image.config.rootfs.diff_ids;
  const stored = image.layers ?? [];
  if (stored.length !== diffIDs.length) {
    throw internal(`image ${image.id} has no layer blobs to save`);
  }
  const chain = chainIDs(diffIDs);
  const config = await content.info(image.id);
  const blobs: BlobSource[] = [
    { digest: image.id, size: config.size, from: image.id, decompress: false },
  ];
  const layers: Descriptor[] = [];
  let converted = false;
  for (const [i, desc] of stored.entries()) {
    if (!(await content.has(desc.digest))) {
      throw internal(`image ${image.id}: layer blob ${desc.digest} is missing`);
    }
    if (desc.mediaType.endsWith('zstd')) {
      const tarSize = (await snapshots.layer(chain[i]!)).tarSize;
      blobs.push({ digest: diffIDs[i]!, size: tarSize, from: desc.digest, decompress: true });
      layers.push({ mediaType: MediaType.OciLayer, digest: diffIDs[i]!, size: tarSize });
      converted = true;
    } else {
      const info = await content.info(desc.digest);
      blobs.push({ digest: desc.digest, size: info.size, from: desc.digest, decompress: false });
      layers.push({ mediaType: desc.mediaType, digest: desc.digest, size: info.size });
    }
  }
  const digests = layers.map((l) => l.digest);
  if (image.manifest && !converted && (await content.has(image.manifest.digest))) {
    const m = image.manifest;
    blobs.push({ digest: m.digest, size: m.size, from: m.digest, decompress: false });
    return {
      blobs,
      layers: digests,
      manifest: { mediaType: m.mediaType, digest: m.digest, size: m.size },
    };
  }
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: image.id, size: config.size },
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    blobs,
    layers: digests,
    manifest: { mediaType: MediaType.OciManifest, digest: sha256Digest(bytes), size: bytes.length },
    manifestBytes: bytes,
  };
}

async function* archiveChunks(
  store: ImageStore,
  blobs: Map<Digest, BlobSource>,
  extra: Map<Digest, Buffer>,
  metadata: Array<{ name: string; data: Buffer }>,
): AsyncGenerator<Buffer> {
  yield header('blobs', 0, 'dir');
  yield header('blobs/sha256', 0, 'dir');
  for (const b of blobs.values()) {
    yield header(blobPath(b.digest), b.size);
    let stream: AsyncIterable<Buffer> = await store.content.get(b.from);
    // content.get verifies the stored blob; a decompressed one is checked against its diffID.
    const hash = b.decompress ? createHash('sha256') : undefined;
    if (b.decompress) stream = (await decompressed(stream)).stream;
    let n = 0;
    for await (const chunk of stream) {
      n += chunk.length;
      // The tar header promised `size` bytes: never send more.
      if (n > b.size) throw internal(`blob ${b.digest}: longer than its recorded ${b.size} bytes`);
      hash?.update(chunk);
      yield chunk;
    }
    if (n !== b.size) throw internal(`blob ${b.digest}: read ${n} bytes, expected ${b.size}`);
    if (hash && `sha256:${hash.digest('hex')}` !== b.digest) {
      throw internal(`layer ${b.digest}: decompressed content does not match its diffID`);
    }
    yield padding(b.size);
  }
  for (const [digest, data] of extra) yield* file(blobPath(digest), data);
  for (const m of metadata) yield* file(m.name, m.data);
  yield END_OF_ARCHIVE;
}

function* file(name: string, data: Buffer): Generator<Buffer> {
  yield header(name, data.length);
  yield data;
  yield padding(data.length);
}

function header(name: string, size: number, type: 'file' | 'dir' = 'file'): Buffer {
  return encodeHeader({
    name: type === 'dir' ? `${name}/` : name,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: type === 'dir' ? 0 : size,
    mtime: '0',
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
  });
}
