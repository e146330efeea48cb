import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';

import type {
  HistoryResponseItem,
  ImageInspect,
  ImageRuntimeConfig,
  ImageSummary,
} from '../api-types/index.js';
import {
  errorKind,
  KeyedMutex,
  notFound,
  readJson,
  writeJsonAtomic,
  type Logger,
} from '../common/index.js';
import type { Compression } from '../archive/index.js';
import type { ContentStore } from '../content/index.js';
import {
  chainIDs,
  digestHex,
  isDigest,
  MediaType,
  sha256Digest,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Manifest,
} from '../oci/index.js';
import type { Snapshotter } from '../snapshots/index.js';
import { applyChanges } from './changes.js';
import { danglingFilter, matchLabels, validateFilters } from './filters.js';
import { deleteImage, type DeleteResponseItem, type RemoveOptions } from './image-delete.js';
import { LeaseTable, type Lease } from './lease.js';
import type { ImageRecord, RefsFile } from './records.js';
import {
  familiarMatch,
  familiarString,
  parseAnyReference,
  parseNormalizedNamed,
  referenceString,
  repoTagReference,
  tagNameOnly,
  type Reference,
} from './reference.js';

export interface ImportOptions {
  /** `repo[:tag]` to tag the new image with. */
  ref?: string;
  /** Dockerfile lines (CMD, ENV...) applied to the config. */
  changes?: string[];
  /** History/config comment; defaults to Docker's "Imported from -". */
  message?: string;
  /** Pin the creation time (reproducible image IDs in tests); defaults to now. */
  created?: Date;
}

/**
 * Images: configs and manifests in the content store, layers in the snapshotter, and two kinds
 * of metadata here, each written atomically:
 *   <root>/images/<hex>.json   an ImageRecord per image (exists ⇔ the image exists)
 *   <root>/repositories.json   normalised reference → image ID
 * Writes go blobs → layer → record → refs, so a kill at any point leaves the old state, the
 * new one, or unreferenced blobs/layers (garbage, never a visible half image).
 */
export class ImageStore {
  /** @internal shared with image-delete.ts */
  readonly images = new Map<Digest, ImageRecord>();
  /** @internal normalised reference string → image ID */
  readonly refs = new Map<string, Digest>();
  private readonly lock = new KeyedMutex();
  private readonly leases = new LeaseTable();

  private constructor(
    private readonly root: string,
    /** @internal */ readonly snapshots: Snapshotter,
    /** @internal */ readonly content: ContentStore,
    private readonly logger: Logger,
  ) {}

  static async open(opts: {
    root: string;
    snapshots: Snapshotter;
    content: ContentStore;
    logger: Logger;
  }): Promise<ImageStore> {
    const s = new ImageStore(
      opts.root,
      opts.snapshots,
      opts.content,
      opts.logger.child({ module: 'images' }),
    );
    await s.load();
    return s;
  }

  private get imagesDir(): string {
    return path.join(this.root, 'images');
  }

  private async load(): Promise<void> {
    await fsp.mkdir(this.imagesDir, { recursive: true, mode: 0o700 });
    for (const name of await fsp.readdir(this.imagesDir)) {
      if (!/^[a-f0-9]{64}\.json$/.test(name)) {
        // A temp file of an interrupted atomic write.
        if (name.endsWith('.tmp')) await fsp.rm(path.join(this.imagesDir, name), { force: true });
        continue;
      }
      const rec = await readJson<ImageRecord>(path.join(this.imagesDir, name));
      const missing = rec && isDigest(rec.id) ? await this.missingParts(rec) : 'record';
      if (missing === undefined) {
        this.images.set(rec!.id, rec!);
      } else {
        // The stores dropped what a machine crash may have torn before it was flushed (or
        // it is gone otherwise): the image is incomplete, and a pull fetches it again.
        this.logger.warn({ file: name, missing }, 'dropping image record without its content');
        await fsp.rm(path.join(this.imagesDir, name), { force: true });
      }
    }
    const file = await readJson<RefsFile>(path.join(this.root, 'repositories.json'));
    let dropped = false;
    for (const [ref, id] of Object.entries(file?.refs ?? {})) {
      if (this.images.has(id)) this.refs.set(ref, id);
      else dropped = true;
    }
    if (dropped) await this.saveRefs();
  }

  /** @internal */
  async saveRefs(): Promise<void> {
    const refs: Record<string, Digest> = Object.fromEntries(
      [...this.refs].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    await writeJsonAtomic(path.join(this.root, 'repositories.json'), {
      schemaVersion: 1,
      refs,
    } satisfies RefsFile);
  }

  /** What an image needs and the stores lack (its top layer, config, manifest or layer blob). */
  private async missingParts(rec: ImageRecord): Promise<string | undefined> {
    if (rec.chainID !== undefined && !(await this.snapshots.hasLayer(rec.chainID))) {
      return `layer ${rec.chainID}`;
    }
    const blobs = [rec.id, ...(rec.manifest ? [rec.manifest.digest] : []), ...this.layerBlobs(rec)];
    for (const d of blobs) if (!(await this.content.has(d))) return `blob ${d}`;
    return undefined;
  }

  /** @internal */
  async saveRecord(rec: ImageRecord): Promise<void> {
    await writeJsonAtomic(path.join(this.imagesDir, `${digestHex(rec.id)}.json`), rec);
    this.images.set(rec.id, rec);
  }

  /** @internal */
  async deleteRecord(id: Digest): Promise<void> {
    await fsp.rm(path.join(this.imagesDir, `${digestHex(id)}.json`), { force: true });
    this.images.delete(id);
  }

  /** @internal Serialises every metadata mutation. */
  mutate<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run('images', fn);
  }

  /** @internal References pointing at an image, normalised. */
  refsOf(id: Digest): Reference[] {
    return [...this.refs]
      .filter(([, v]) => v === id)
      .map(([k]) => parseNormalizedNamed(k))
      .sort((a, b) => (referenceString(a) < referenceString(b) ? -1 : 1));
  }

  async import(body: Readable, opts: ImportOptions = {}): Promise<{ id: string }> {
    const ref = opts.ref ? repoTagReference(opts.ref) : undefined;
    const runtimeConfig = applyChanges({}, opts.changes ?? []);
    const lease = this.lease();
    try {
      return await this.importLayer(body, ref, runtimeConfig, opts, lease);
    } finally {
      lease.release();
    }
  }

  private async importLayer(
    body: Readable,
    ref: Reference | undefined,
    runtimeConfig: ReturnType<typeof applyChanges>,
    opts: ImportOptions,
    lease: Lease,
  ): Promise<{ id: string }> {
    const { blob, layer } = await this.ingestLayer(body, undefined, lease);
    const created = (opts.created ?? new Date()).toISOString();
    const comment = opts.message || 'Imported from -';
    const config: ImageConfig = {
      architecture: 'amd64',
      comment,
      config: runtimeConfig,
      created,
      history: [{ created, comment }],
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.diffID] },
    };
    const { id } = await this.storeImage({
      config,
      layers: [
        { mediaType: layerMediaType(layer.compression), digest: blob.digest, size: blob.size },
      ],
      refs: ref ? [ref] : [],
      lease,
    });
    return { id };
  }

  /**
   * Record an image made here (import, commit, build): its config and an OCI manifest go
   * into the content store, then the record (createImage). `layers` are committed blobs and
   * layers held by `lease`.
   */
  async storeImage(opts: {
    config: ImageConfig;
    layers: Descriptor[];
    refs: Reference[];
    lease: Lease;
  }): Promise<{ id: Digest; updated: boolean }> {
    const configBytes = Buffer.from(JSON.stringify(opts.config));
    const configDigest = sha256Digest(configBytes);
    await this.content.put(configBytes, { digest: configDigest });
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
      layers: opts.layers,
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    // A rebuild with nothing changed: the same record, every ref already on it. Its blobs
    // and layers are the recorded image's (an rmi takes the record first): nothing to check.
    const prev = this.images.get(configDigest);
    if (
      prev?.manifest?.digest === sha256Digest(manifestBytes) &&
      opts.refs.every((r) => this.refs.get(referenceString(r)) === configDigest)
    )
      return { id: configDigest, updated: false };
    const manifestDesc: Descriptor = {
      mediaType: MediaType.OciManifest,
      ...(await this.content.put(manifestBytes)),
    };
    return this.createImage({ ...opts, configDigest, manifest: manifestDesc });
  }

  /**
   * Record an image whose config and manifest are committed blobs and whose layers are
   * committed in the snapshotter (a pull), and point `refs` (tags and/or digest references)
   * at it. Returns whether any reference changed (docker's "Downloaded newer image").
   */
  async createImage(opts: {
    config: ImageConfig;
    configDigest: Digest;
    manifest: Descriptor;
    layers: Descriptor[];
    refs: Reference[];
    /** The caller's lease on the layers and blobs (held until this returns). */
    lease: Lease;
  }): Promise<{ id: Digest; updated: boolean }> {
    const id = opts.configDigest;
    const chain = chainIDs(opts.config.rootfs.diff_ids);
    // Each must exist, checked under the lease: nothing can remove it between here and the
    // record (a concurrent rmi or prune that got there first makes this a clear failure).
    const blobs = [opts.configDigest, opts.manifest.digest, ...opts.layers.map((l) => l.digest)];
    for (const d of blobs) {
      if (!(await this.hasBlob(opts.lease, d))) {
        throw notFound(`blob ${d} was removed while the image was being made`);
      }
    }
    let size = 0;
    for (const c of chain) {
      if (!(await this.hasLayer(opts.lease, c))) {
        throw notFound(`layer ${c} was removed while the image was being made`);
      }
      size += (await this.snapshots.layer(c)).size;
    }
    return this.mutate(async () => {
      const prev = this.images.get(id);
      const changed = opts.refs.filter((r) => this.refs.get(referenceString(r)) !== id);
      if (prev?.manifest?.digest === opts.manifest.digest && changed.length === 0) {
        return { id, updated: false }; // a rebuild or re-pull of what is recorded: no writes
      }
      const tagged = changed.some((r) => r.tag !== undefined);
      await this.saveRecord({
        schemaVersion: 1,
        id,
        manifest: opts.manifest,
        layers: opts.layers,
        ...(chain.length > 0 ? { chainID: chain.at(-1)! } : {}),
        size,
        ...(tagged || prev?.lastTagTime
          ? { lastTagTime: tagged ? new Date().toISOString() : prev?.lastTagTime }
          : {}),
        config: opts.config,
      });
      for (const r of changed) this.refs.set(referenceString(r), id);
      if (changed.length > 0) await this.saveRefs();
      this.logger.info({ id, refs: opts.refs.map(familiarString) }, 'image created');
      return { id, updated: prev === undefined || changed.length > 0 };
    });
  }

  /** Record `repo@digest` (RepoDigests) for an image after a push. */
  async addRepoDigest(id: Digest, ref: Reference): Promise<void> {
    await this.mutate(async () => {
      if (!this.images.has(id) || this.refs.get(referenceString(ref)) === id) return;
      this.refs.set(referenceString(ref), id);
      await this.saveRefs();
    });
  }

  /**
   * @internal Feed one body to the content store (as sent) and to the snapshotter (unpacked
   * on `parent`, a chain ID). On failure neither keeps anything no image uses.
   */
  async ingestLayer(body: Readable, parent: Digest | undefined, lease: Lease) {
    const toContent = new PassThrough();
    const toLayer = new PassThrough();
    body.on('error', (e) => {
      toContent.destroy(e);
      toLayer.destroy(e);
    });
    // Errors reach the consumers through iteration; these keep an early one from going unheard.
    toContent.on('error', () => {});
    toLayer.on('error', () => {});
    body.pipe(toContent);
    body.pipe(toLayer);
    // If one side fails the other must not wait forever for a body that stopped flowing.
    const stopBoth = (e: unknown): never => {
      body.unpipe();
      toContent.destroy(e as Error);
      toLayer.destroy(e as Error);
      body.resume();
      throw e;
    };
    const [layer, blob] = await Promise.allSettled([
      this.snapshots.applyLayer(parent, toLayer).catch(stopBoth),
      this.content.ingest(toContent).catch(stopBoth),
    ]);
    if (layer.status === 'rejected' || blob.status === 'rejected') {
      if (blob.status === 'fulfilled') await this.dropUnusedBlob(blob.value.digest);
      if (layer.status === 'fulfilled') await this.dropUnusedLayer(layer.value.chainID);
      throw layer.status === 'rejected' ? layer.reason : (blob as PromiseRejectedResult).reason;
    }
    lease.hold(blob.value.digest, layer.value.chainID);
    return { blob: blob.value, layer: layer.value };
  }

  /**
   * A lease for an operation about to reference layers and blobs (lease.ts). Hold what the
   * operation finds present before checking it (`hasLayer`/`hasBlob`), hold what it adds,
   * and release once its image record is written or it failed.
   */
  lease(): Lease {
    return this.leases.take();
  }

  /** Whether an operation in flight holds this chain ID or blob. */
  leased(d: Digest): boolean {
    return this.leases.held(d);
  }

  /** Whether a layer exists, under `lease` and ordered against any drop of it. */
  hasLayer(lease: Lease, chainID: Digest): Promise<boolean> {
    return lease.has(chainID, (c) => this.snapshots.hasLayer(c));
  }

  /** Whether a blob exists, under `lease` and ordered against any drop of it. */
  hasBlob(lease: Lease, digest: Digest): Promise<boolean> {
    return lease.has(digest, (d) => this.content.has(d));
  }

  /** @internal Delete a blob no image's manifest/config mentions and no lease holds. */
  async dropUnusedBlob(digest: Digest): Promise<void> {
    await this.leases.guarded(digest, async () => {
      const used = [...this.images.values()].some(
        (r) =>
          r.id === digest || r.manifest?.digest === digest || this.layerBlobs(r).includes(digest),
      );
      if (!used && !this.leases.held(digest)) await this.content.delete(digest);
    });
  }

  /** @internal */
  layerBlobs(r: ImageRecord): Digest[] {
    return (r.layers ?? []).map((d) => d.digest);
  }

  /** @internal Remove a layer (and its unused parents) that no image or lease needs. */
  async dropUnusedLayer(chainID: Digest): Promise<Digest[]> {
    const removed: Digest[] = [];
    for (let c: Digest | undefined = chainID; c !== undefined;) {
      const layer: Digest = c;
      const next = await this.leases.guarded(layer, async () => {
        if (this.leases.held(layer)) return { stop: true };
        for (const r of this.images.values()) {
          if (chainIDs(r.config.rootfs.diff_ids).includes(layer)) return { stop: true };
        }
        const parent: Digest | undefined = (await this.snapshots.layer(layer)).parent;
        try {
          await this.snapshots.removeLayer(layer);
        } catch (err) {
          // a container (or a child layer) still uses it
          if (errorKind(err) === 'conflict') return { stop: true };
          throw err;
        }
        return { stop: false, parent };
      });
      if (next.stop) break;
      removed.push(layer);
      c = next.parent;
    }
    return removed;
  }

  /** Find an image by reference, full ID, or unique ID prefix, as docker's GetImage. */
  async resolve(nameOrId: string): Promise<ImageRecord> {
    return this.resolveSync(nameOrId);
  }

  /** @internal */
  resolveSync(nameOrId: string): ImageRecord {
    const parsed = parseAnyReference(nameOrId);
    if (parsed.kind === 'id') {
      const img = this.images.get(parsed.id as Digest);
      if (img) return img;
      throw noSuchImage(parsed.id);
    }
    const ref = tagNameOnly(parsed.ref);
    const id = this.refs.get(referenceString(ref));
    if (id !== undefined) return this.images.get(id)!;
    const m = /^(?:sha256:)?([a-f0-9]{1,64})$/.exec(nameOrId);
    if (m) {
      const hits = [...this.images.keys()].filter((k) => digestHex(k).startsWith(m[1]!));
      if (hits.length === 1) return this.images.get(hits[0]!)!;
    }
    throw noSuchImage(familiarString(ref));
  }

  async list(
    opts: { all?: boolean; filters?: Record<string, string[]> } = {},
  ): Promise<ImageSummary[]> {
    const filters = opts.filters ?? {};
    validateFilters(filters);
    const dangling = danglingFilter(filters.dangling);
    const before = filters.before?.map((r) => created(this.resolveSync(r)));
    const since = filters.since?.map((r) => created(this.resolveSync(r)));
    const out: ImageSummary[] = [];
    for (const img of this.images.values()) {
      let refs = this.refsOf(img.id);
      const tags = refs.filter((r) => r.tag !== undefined);
      if (dangling === true && tags.length > 0) continue;
      if (dangling === false && tags.length === 0) continue;
      if (filters.label && !matchLabels(filters.label, img.config.config?.Labels)) continue;
      if (before && !before.every((t) => created(img) < t)) continue;
      if (since && !since.every((t) => created(img) > t)) continue;
      if (filters.reference?.length) {
        refs = refs.filter((r) => filters.reference!.some((p) => familiarMatch(p, r)));
        if (refs.length === 0) continue;
      }
      out.push({
        Id: img.id,
        ParentId: '',
        RepoTags: refs.filter((r) => r.tag !== undefined).map(familiarString),
        RepoDigests: refs.filter((r) => r.digest !== undefined).map(familiarString),
        Created: Math.floor(created(img) / 1000),
        Size: img.size,
        SharedSize: -1,
        Labels: img.config.config?.Labels ?? null,
        Containers: -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : 1));
  }

  async inspect(nameOrId: string): Promise<ImageInspect> {
    const img = this.resolveSync(nameOrId);
    const refs = this.refsOf(img.id);
    const dirs = await this.snapshots.diffDirs(img.chainID);
    const c = img.config;
    return {
      Id: img.id,
      RepoTags: refs.filter((r) => r.tag !== undefined).map(familiarString),
      RepoDigests: refs.filter((r) => r.digest !== undefined).map(familiarString),
      Parent: '',
      Comment: c.comment ?? '',
      Created: c.created ?? '0001-01-01T00:00:00Z',
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: inspectConfig(c.config ?? {}),
      Architecture: c.architecture,
      Os: c.os,
      Size: img.size,
      GraphDriver: {
        Name: 'overlay2',
        Data:
          dirs.length === 0
            ? {}
            : {
                UpperDir: dirs[0]!,
                ...(dirs.length > 1 ? { LowerDir: dirs.slice(1).join(':') } : {}),
              },
      },
      RootFS: { Type: 'layers', Layers: [...c.rootfs.diff_ids] },
      Metadata: { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }

  async history(nameOrId: string): Promise<HistoryResponseItem[]> {
    const img = this.resolveSync(nameOrId);
    const chain = chainIDs(img.config.rootfs.diff_ids);
    const sizes = await Promise.all(chain.map(async (c) => (await this.snapshots.layer(c)).size));
    let layer = 0;
    const items: HistoryResponseItem[] = (img.config.history ?? []).map((h) => {
      const size = h.empty_layer ? 0 : (sizes[layer++] ?? 0);
      return {
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: h.comment ?? '',
      };
    });
    items.reverse();
    if (items[0]) {
      const tags = this.refsOf(img.id).filter((r) => r.tag !== undefined);
      items[0].Id = img.id;
      items[0].Tags = tags.length > 0 ? tags.map(familiarString) : null;
    }
    return items;
  }

  async tag(source: string, repo: string, tag?: string): Promise<void> {
    const ref = repoTagReference(repo, tag);
    await this.mutate(async () => {
      const img = this.resolveSync(source);
      await this.saveRecord({ ...img, lastTagTime: new Date().toISOString() });
      this.refs.set(referenceString(ref), img.id);
      await this.saveRefs();
    });
  }

  async remove(nameOrId: string, opts: RemoveOptions): Promise<DeleteResponseItem[]> {
    return this.mutate(() => deleteImage(this, nameOrId, opts));
  }

  /** The runtime config of an image (by full ID), for container creation. */
  config(imageId: string): ImageRuntimeConfig {
    return structuredClone((this.record(imageId).config.config ?? {}) as ImageRuntimeConfig);
  }

  /** The chain ID of the image's top layer: the parent of a container's snapshot. */
  layers(imageId: string): Digest | undefined {
    return this.record(imageId).chainID;
  }

  private record(imageId: string): ImageRecord {
    const id = (imageId.startsWith('sha256:') ? imageId : `sha256:${imageId}`) as Digest;
    const img = this.images.get(id);
    if (!img) throw noSuchImage(imageId);
    return img;
  }
}

/** The OCI media type of a layer blob with this compression. */
export function layerMediaType(compression: Compression): string {
  if (compression === 'gzip') return MediaType.OciLayerGzip;
  if (compression === 'zstd') return MediaType.OciLayerZstd;
  return MediaType.OciLayer;
}

export function noSuchImage(what: string) {
  return notFound(`No such image: ${what}`, 'ERR_NO_SUCH_IMAGE');
}

function created(img: ImageRecord): number {
  return img.config.created ? Date.parse(img.config.created) : 0;
}

/** Docker serialises the whole container.Config; fill the fields an image config omits. */
function inspectConfig(c: NonNullable<ImageConfig['config']>): ImageInspect['Config'] {
  return {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...(c.ArgsEscaped ? { ArgsEscaped: c.ArgsEscaped } : {}),
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.Shell ? { Shell: c.Shell } : {}),
  };
}
