/**
 * Pull: resolve a reference on its registry to a manifest (choosing one platform from an
 * index), fetch the config, then the layers — up to `maxConcurrentDownloads` at once, each
 * streamed into the content store and unpacked as it arrives, committed in chain order — and
 * finally record the image and its references. Layers already unpacked (same chain ID) are
 * not fetched again.
 */
import {
  errorKind,
  errorMessage,
  internal,
  invalidArgument,
  WharfError,
  type Logger,
} from '../common/index.js';
import {
  chainIDs,
  isDigest,
  MediaType,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Index,
  type Manifest,
} from '../oci/index.js';
import {
  parsePlatform,
  selectManifest,
  type Credentials,
  type FetchedManifest,
  type RegistryClient,
  type Repository,
} from '../registry/client/index.js';
import type { ImageStore } from './image-store.js';
import type { Lease } from './lease.js';
import { ingestAndUnpack } from './layer-fetch.js';
import { shortLayerId, throttledProgress, type ProgressSink } from './progress.js';
import { familiarString, withTag, type Reference } from './reference.js';

export interface PullOptions {
  /** `linux/amd64` (the default), `linux/arm64/v8`, … */
  platform?: string;
  credentials?: Credentials;
  signal?: AbortSignal;
}

/** A reference resolved to a manifest, before anything is written. */
export interface ResolvedPull {
  ref: Reference;
  repo: Repository;
  /** What the reference names (an index or a manifest); its digest is the repo digest. */
  top: FetchedManifest;
  manifest: FetchedManifest;
  parsed: Manifest;
}

const LAYER_ATTEMPTS = 3;

export class ImagePuller {
  /** Download slots, shared by every pull of the daemon (as dockerd's download manager). */
  private readonly downloads: Semaphore;

  constructor(
    private readonly store: ImageStore,
    private readonly registry: RegistryClient,
    private readonly opts: { maxConcurrentDownloads: number; logger: Logger },
  ) {
    this.downloads = new Semaphore(opts.maxConcurrentDownloads);
  }

  /** Resolve a tagged or digested reference (no output yet: errors here are HTTP errors). */
  async resolve(ref: Reference, opts: PullOptions): Promise<ResolvedPull> {
    const repo = this.registry.repository(ref, 'pull', opts.credentials);
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const top = await repo.getManifest(reference, opts.signal);
    let manifest = top;
    if (top.mediaType === MediaType.OciIndex || top.mediaType === MediaType.DockerManifestList) {
      const index = JSON.parse(top.bytes.toString('utf8')) as Index;
      const want = parsePlatform(opts.platform || 'linux/amd64');
      const chosen = selectManifest(index.manifests ?? [], want);
      manifest = await repo.getManifest(chosen.digest, opts.signal);
    } else if (
      top.mediaType !== MediaType.OciManifest &&
      top.mediaType !== MediaType.DockerManifest
    ) {
      throw invalidArgument(
        `${familiarString(ref)}: unsupported manifest media type ${top.mediaType}`,
      );
    }
    const parsed = JSON.parse(manifest.bytes.toString('utf8')) as Manifest;
    if (
      !parsed.config?.digest ||
      !isDigest(parsed.config.digest) ||
      !Array.isArray(parsed.layers)
    ) {
      throw invalidArgument(`${familiarString(ref)}: invalid manifest ${manifest.digest}`);
    }
    for (const l of parsed.layers) {
      if (!isDigest(l.digest) || typeof l.size !== 'number') {
        throw invalidArgument(`${familiarString(ref)}: invalid layer descriptor in manifest`);
      }
    }
    return { ref, repo, top, manifest, parsed };
  }

  /** Fetch and record a resolved image; progress goes to `sink`. */
  async pull(
    r: ResolvedPull,
    sink: ProgressSink,
    opts: PullOptions,
  ): Promise<{ id: Digest; digest: Digest; updated: boolean }> {
    const { ref } = r;
    sink({
      kind: 'message',
      id: ref.digest ?? ref.tag ?? 'latest',
      status: `Pulling from ${ref.path}`,
    });
    const lease = this.store.lease();
    try {
      return await this.pullLeased(r, sink, opts, lease);
    } finally {
      lease.release();
    }
  }

  private async pullLeased(
    r: ResolvedPull,
    sink: ProgressSink,
    opts: PullOptions,
    lease: Lease,
  ): Promise<{ id: Digest; digest: Digest; updated: boolean }> {
    const { ref, repo, parsed } = r;
    const content = this.store.content;
    const config = await this.fetchConfig(repo, parsed.config, lease, opts.signal);
    const diffIDs = config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== parsed.layers.length) {
      throw invalidArgument(
        `${familiarString(ref)}: the config lists ${diffIDs.length} layers, the manifest ${parsed.layers.length}`,
      );
    }
    await this.fetchLayers(repo, parsed.layers, diffIDs, sink, lease, opts.signal);
    await content.put(r.manifest.bytes, { digest: r.manifest.digest });
    // The reference by digest (RepoDigests) names what the registry serves for the tag: the
    // index when there is one, as docker records it.
    const refs: Reference[] = [{ domain: ref.domain, path: ref.path, digest: r.top.digest }];
    if (ref.tag !== undefined && ref.digest === undefined) refs.push(withTag(ref, ref.tag));
    const { id, updated } = await this.store.createImage({
      config,
      configDigest: parsed.config.digest,
      manifest: {
        mediaType: r.manifest.mediaType,
        digest: r.manifest.digest,
        size: r.manifest.size,
      },
      layers: parsed.layers.map((l) => ({
        mediaType: l.mediaType,
        digest: l.digest,
        size: l.size,
      })),
      refs,
      lease,
    });
    sink({ kind: 'message', status: `Digest: ${r.top.digest}` });
    sink({
      kind: 'message',
      status: `Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(ref)}`,
    });
    return { id, digest: r.top.digest, updated };
  }

  private async fetchConfig(
    repo: Repository,
    desc: Descriptor,
    lease: Lease,
    signal?: AbortSignal,
  ): Promise<ImageConfig> {
    const content = this.store.content;
    if (!(await this.store.hasBlob(lease, desc.digest))) {
      const { stream } = await repo.fetchBlob(desc.digest, signal);
      await content.ingest(stream, { digest: desc.digest, size: desc.size }).catch((e: unknown) => {
        throw verifyError(desc.digest, e);
      });
    }
    const config = JSON.parse((await content.read(desc.digest)).toString('utf8')) as ImageConfig;
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) {
      throw invalidArgument(`image config ${desc.digest} has no rootfs.diff_ids`);
    }
    for (const d of config.rootfs.diff_ids) {
      if (!isDigest(d)) throw invalidArgument(`image config ${desc.digest}: invalid diff_id ${d}`);
    }
    return config;
  }

  private async fetchLayers(
    repo: Repository,
    layers: Descriptor[],
    diffIDs: Digest[],
    sink: ProgressSink,
    lease: Lease,
    outer?: AbortSignal,
  ): Promise<void> {
    const { content, snapshots } = this.store;
    const chain = chainIDs(diffIDs);
    const abort = new AbortController();
    const onOuter = (): void => abort.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter);
    const signal = abort.signal;
    // What is there already: a layer counts as present only with its blob (push needs it).
    const plan = await Promise.all(
      layers.map(async (desc, i) => ({
        desc,
        i,
        id: shortLayerId(desc.digest),
        haveLayer: await this.store.hasLayer(lease, chain[i]!),
        haveBlob: await this.store.hasBlob(lease, desc.digest),
      })),
    );
    for (const p of plan) {
      sink({
        kind: 'layer',
        id: p.id,
        status: p.haveLayer && p.haveBlob ? 'Already exists' : 'Pulling fs layer',
      });
    }
    const committed: Array<Promise<unknown>> = [];
    const slots = this.downloads;
    const tasks = plan.map((p) => {
      const parentCommitted = p.i === 0 ? Promise.resolve() : committed[p.i - 1]!;
      const task = (async () => {
        if (p.haveLayer && p.haveBlob) return;
        const target = {
          desc: p.desc,
          diffID: diffIDs[p.i]!,
          parent: p.i === 0 ? undefined : chain[p.i - 1],
          parentCommitted,
        };
        if (p.haveBlob) {
          // Downloaded by an earlier, interrupted pull: unpack from the store.
          sink({ kind: 'layer', id: p.id, status: 'Extracting' });
          await snapshots.applyLayer(target.parent, await content.get(p.desc.digest), {
            expectedDiffID: target.diffID,
            commitAfter: parentCommitted,
          });
          sink({ kind: 'layer', id: p.id, status: 'Pull complete' });
          return;
        }
        if (slots.busy) sink({ kind: 'layer', id: p.id, status: 'Waiting' });
        await slots.acquire();
        if (signal.aborted) {
          slots.release();
          throw new WharfError('unavailable', 'ERR_ABORTED', 'pull aborted');
        }
        let released = false;
        const release = (): void => {
          if (!released) slots.release();
          released = true;
        };
        try {
          for (let attempt = 1; ; attempt++) {
            try {
              await this.downloadLayer(repo, p.id, target, !p.haveLayer, sink, signal, release);
              break;
            } catch (err) {
              if (signal.aborted || attempt >= LAYER_ATTEMPTS || !isRetryable(err)) throw err;
              this.opts.logger.warn(
                { err, layer: p.desc.digest, attempt },
                'retrying layer download',
              );
              sink({
                kind: 'layer',
                id: p.id,
                status: `Retrying in ${attempt} second${attempt > 1 ? 's' : ''}`,
              });
              await new Promise((res) => setTimeout(res, attempt * 1000));
            }
          }
        } finally {
          release();
        }
      })();
      committed[p.i] = task;
      task.catch(() => abort.abort()); // one failure stops the others
      return task;
    });
    try {
      const results = await Promise.allSettled(tasks);
      const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      // The first real failure, not the aborts it caused in the other layers.
      const root = results
        .filter((x): x is PromiseRejectedResult => x.status === 'rejected')
        .map((x) => x.reason as unknown)
        .find((e) => !isAbort(e));
      if (failed) throw root ?? failed.reason;
    } finally {
      outer?.removeEventListener('abort', onOuter);
    }
  }

  private async downloadLayer(
    repo: Repository,
    id: string,
    target: Parameters<typeof ingestAndUnpack>[3],
    unpack: boolean,
    sink: ProgressSink,
    signal: AbortSignal,
    release: () => void,
  ): Promise<void> {
    const { content, snapshots } = this.store;
    const { stream } = await repo.fetchBlob(target.desc.digest, signal);
    const progress = throttledProgress(sink, id, 'Downloading', target.desc.size);
    let received = 0;
    stream.on('data', (c: Buffer) => {
      received += c.length;
      progress.update(received);
    });
    const onAbort = (): void => {
      stream.destroy(new WharfError('unavailable', 'ERR_ABORTED', 'pull aborted'));
    };
    signal.addEventListener('abort', onAbort);
    try {
      const { blob, layer } = ingestAndUnpack(content, snapshots, stream, target, unpack);
      await blob.catch((e: unknown) => {
        throw verifyError(target.desc.digest, e);
      });
      progress.flush();
      sink({ kind: 'layer', id, status: 'Verifying Checksum' });
      sink({ kind: 'layer', id, status: 'Download complete' });
      release(); // the download slot is free; the unpack finishes on its own
      if (unpack) {
        sink({
          kind: 'layer',
          id,
          status: 'Extracting',
          current: target.desc.size,
          total: target.desc.size,
        });
      }
      await layer;
      sink({ kind: 'layer', id, status: 'Pull complete' });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The tags of a repository (pull --all-tags). */
  async tags(ref: Reference, opts: PullOptions): Promise<string[]> {
    return this.registry.repository(ref, 'pull', opts.credentials).listTags(opts.signal);
  }
}

function verifyError(digest: Digest, e: unknown): unknown {
  if (errorKind(e) !== 'invalid-argument') return e;
  return invalidArgument(`failed to verify layer ${digest}: ${errorMessage(e)}`, e);
}

function isAbort(e: unknown): boolean {
  return (
    (e instanceof WharfError && e.code === 'ERR_ABORTED') ||
    (e instanceof Error && e.name === 'AbortError')
  );
}

/** Connection failures and 5xx are worth another try; verification failures are not. */
function isRetryable(e: unknown): boolean {
  if (isAbort(e)) return false;
  if (e instanceof Error && e.name === 'NetworkError') return true;
  const code = (e as { code?: string }).code;
  if (code && ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED'].includes(code)) return true;
  return errorKind(e) === 'unavailable';
}

class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly max: number) {
    if (max < 1) throw internal('concurrency must be at least 1');
  }
  get busy(): boolean {
    return this.active >= this.max;
  }
  acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((r) => this.queue.push(() => r()));
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}
