import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants, createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  DeferredFlush,
  internal,
  invalidArgument,
  isErrno,
  notFound,
  readBootId,
  readJson,
  writeJsonAtomic,
  type Logger,
} from '../common/index.js';
import { digestHex, isDigest, sha256Digest, type Digest } from '../oci/index.js';
import { isMarkerFile, markerFile, planBlobRecovery, type UnflushedMarker } from './unflushed.js';

/** How much an ingest may have queued for writing before it waits. */
const WRITE_BUFFER = 1 << 20;

/**
 * The content store holds immutable blobs (layer tars, configs, manifests) by sha256 digest.
 *
 * Lifecycle of a blob:
 *   ingest   bytes stream into `ingest/<random>` while being hashed and counted;
 *   commit   size and digest are checked (against the expected ones if given), the file made
 *            read-only and renamed to `blobs/sha256/<hex>`. A blob is visible only once
 *            committed, so a crash mid-ingest leaves a temp file and nothing else; `open`
 *            deletes those.
 *   flush    in the background, after the commit (no fsync on the request's path: kill -9
 *            keeps the page cache). Until a syncfs covered it, a boot marker says "blobs
 *            written since T may be torn if the machine goes down"; `open` after a reboot
 *            re-hashes those and drops the damaged ones (unflushed.ts).
 *   read     `get` streams the blob and re-hashes it; a blob damaged on disk fails at the end.
 *   delete   unlink. Callers (images, later GC) decide what is unreferenced.
 */
export interface ContentInfo {
  digest: Digest;
  size: number;
}

export interface ExpectedContent {
  digest?: Digest;
  size?: number;
}

export interface ContentStoreOptions {
  /** The background flusher of the data root's filesystem (shared with the snapshotter). */
  flusher?: DeferredFlush;
  /** The running boot's id (tests fake a reboot with it); read from /proc when absent. */
  bootId?: string;
}

export class ContentStore {
  /** Ingests from their start until a flush covered their blob: token → start time. */
  private readonly unflushed = new Map<number, number>();
  private nextToken = 0;
  /** Whether this boot's marker is on disk (durably), and its `since`. */
  private marker: UnflushedMarker | undefined;
  /** Marker writes and removals, one at a time. */
  private markerOps: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly root: string,
    private readonly logger: Logger | undefined,
    private readonly flusher: DeferredFlush,
    private readonly bootId: string,
  ) {}

  static async open(
    root: string,
    logger?: Logger,
    opts: ContentStoreOptions = {},
  ): Promise<ContentStore> {
    const bootId = opts.bootId ?? (await readBootId());
    if (!/^[A-Za-z0-9-]{1,64}$/.test(bootId)) throw internal(`unusable boot id: ${bootId}`);
    await fsp.mkdir(root, { recursive: true, mode: 0o700 });
    const store = new ContentStore(
      root,
      logger,
      opts.flusher ?? new DeferredFlush(root, logger),
      bootId,
    );
    await fsp.mkdir(store.blobDir, { recursive: true, mode: 0o700 });
    // Anything in ingest/ belongs to an ingest that never committed (we were killed).
    await fsp.rm(store.ingestDir, { recursive: true, force: true });
    await fsp.mkdir(store.ingestDir, { recursive: true, mode: 0o700 });
    await store.recover();
    return store;
  }

  /** Wait for the background flushes (a clean shutdown). */
  async close(): Promise<void> {
    await this.flusher.drain();
  }

  /**
   * After a machine crash (a marker of another boot): re-hash the blobs written since it, drop
   * those that do not match their name. This boot's marker (the daemon was killed): the blobs
   * are whole in the page cache; flush them again.
   */
  private async recover(): Promise<void> {
    const markers: Array<{ file: string; marker: UnflushedMarker | undefined }> = [];
    for (const name of await fsp.readdir(this.root)) {
      if (name.startsWith('.unflushed-') && name.endsWith('.tmp')) {
        await fsp.rm(path.join(this.root, name), { force: true }); // an interrupted write
      } else if (isMarkerFile(name)) {
        const marker = await readJson<UnflushedMarker>(path.join(this.root, name)).catch(
          () => undefined, // damaged: planBlobRecovery then trusts no blob
        );
        markers.push({
          file: name,
          marker:
            typeof marker?.boot === 'string' && typeof marker.since === 'number'
              ? marker
              : undefined,
        });
      }
    }
    if (markers.length === 0) return;
    const blobs: Array<{ name: string; ctimeMs: number }> = [];
    for (const name of await fsp.readdir(this.blobDir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue; // not a blob (list() warns about it)
      const st = await fsp.stat(path.join(this.blobDir, name)).catch(() => undefined);
      if (st) blobs.push({ name, ctimeMs: st.ctimeMs });
    }
    const plan = planBlobRecovery(markers, this.bootId, blobs);
    let dropped = 0;
    for (const name of plan.verify) {
      const file = path.join(this.blobDir, name);
      if (await hashMatches(file, name)) continue;
      this.logger?.warn(
        { blob: `sha256:${name}` },
        'content: dropping a blob damaged by a machine crash before it was flushed',
      );
      await fsp.rm(file, { force: true });
      dropped++;
    }
    if (plan.verify.length > 0) {
      this.logger?.info(
        { verified: plan.verify.length, dropped },
        'content: checked the blobs left unflushed by an unclean shutdown of the machine',
      );
    }
    // Only once the damaged blobs are gone; if this unlink is lost, they are checked again.
    for (const file of plan.stale) await fsp.rm(path.join(this.root, file), { force: true });
    if (plan.adopt) {
      this.marker = plan.adopt;
      const token = this.nextToken++;
      this.unflushed.set(token, plan.adopt.since);
      this.flushLater(token);
    }
  }

  /**
   * This boot's marker, durably on disk before the first unflushed blob of an epoch is
   * committed (resolves once it is). `since` is taken before the blob's file is created.
   */
  private ensureMarker(since: number): Promise<unknown> {
    const op = this.markerOps.then(async () => {
      if (this.marker !== undefined) return;
      const marker: UnflushedMarker = { schemaVersion: 1, boot: this.bootId, since };
      await writeJsonAtomic(path.join(this.root, markerFile(this.bootId)), marker);
      this.marker = marker;
    });
    this.markerOps = op.catch(() => undefined);
    return op;
  }

  /** Once a flush covered every blob written since the marker, remove it (non-durably:
   * a marker that comes back after a crash only makes open() check blobs that are fine). */
  private clearMarker(): Promise<unknown> {
    const op = this.markerOps.then(async () => {
      if (this.marker === undefined || this.unflushed.size > 0) return;
      await fsp.rm(path.join(this.root, markerFile(this.bootId)), { force: true });
      this.marker = undefined;
    });
    this.markerOps = op.catch(() => undefined);
    return op;
  }

  /** After the next background flush, `token`'s blob is on disk. */
  private flushLater(token: number): void {
    this.flusher.after('content', async () => {
      this.unflushed.delete(token);
      await this.clearMarker();
    });
  }

  /** An ingest that committed nothing needs no flush (nor leaves a marker write running). */
  private async forget(token: number, marker: Promise<unknown>): Promise<void> {
    await marker.catch(() => undefined);
    this.unflushed.delete(token);
    await this.clearMarker().catch((err: unknown) =>
      this.logger?.warn({ err }, 'content: removing the unflushed marker'),
    );
  }

  private get blobDir(): string {
    return path.join(this.root, 'blobs', 'sha256');
  }

  private get ingestDir(): string {
    return path.join(this.root, 'ingest');
  }

  /** Where a committed blob lives; for readers that need a path (never write to it). */
  blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw invalidArgument(`invalid digest: ${digest}`);
    return path.join(this.blobDir, digestHex(digest));
  }

  /** Stream a blob in, verify it, commit it. Idempotent: an existing blob is kept. */
  async ingest(
    src: Readable | AsyncIterable<Uint8Array>,
    expected: ExpectedContent = {},
  ): Promise<ContentInfo> {
    if (expected.digest !== undefined && !isDigest(expected.digest)) {
      throw invalidArgument(`invalid digest: ${expected.digest}`);
    }
    // Start reading before the file opens: a Readable's iterator listens for the source's
    // errors only once next() ran, and an error with nobody listening would crash the process.
    const it = (src as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const first = it.next();
    first.catch(() => {}); // observed below; this only marks it handled while we open
    const token = this.nextToken++;
    this.unflushed.set(token, Date.now());
    const marker = this.ensureMarker(this.unflushed.get(token)!);
    marker.catch(() => {}); // awaited before the rename
    const done = this.flusher.begin();
    let committed = false;
    try {
      const info = await this.write(first, it, expected, marker);
      committed = true;
      return info;
    } finally {
      done();
      if (committed) this.flushLater(token);
      else await this.forget(token, marker);
    }
  }

  private async write(
    first: Promise<IteratorResult<Uint8Array>>,
    it: AsyncIterator<Uint8Array>,
    expected: ExpectedContent,
    marker: Promise<unknown>,
  ): Promise<ContentInfo> {
    const tmp = path.join(this.ingestDir, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const fh = await fsp.open(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      0o600,
    );
    // Writes are queued (up to WRITE_BUFFER) rather than awaited one by one: the source goes
    // on while the thread pool writes, and queued chunks go down in one writev.
    const out = fh.createWriteStream({ autoClose: false, highWaterMark: WRITE_BUFFER });
    const failed = once(out, 'error').then((args) => {
      throw args[0] as Error;
    });
    failed.catch(() => {}); // raced below
    try {
      try {
        for (let r = await first; !r.done; r = await it.next()) {
          const chunk = r.value;
          hash.update(chunk);
          size += chunk.byteLength;
          if (expected.size !== undefined && size > expected.size) {
            await it.return?.();
            throw invalidArgument(`content size exceeds expected ${expected.size} bytes`);
          }
          if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
        }
        await Promise.race([new Promise<void>((resolve) => out.end(resolve)), failed]);
      } finally {
        out.destroy();
        await fh.close();
      }
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      if (expected.size !== undefined && size !== expected.size) {
        throw invalidArgument(`unexpected content size: got ${size}, expected ${expected.size}`);
      }
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw invalidArgument(
          `unexpected content digest: got ${digest}, expected ${expected.digest}`,
        );
      }
      await fsp.chmod(tmp, 0o444);
      // The boot marker must be on disk before an unflushed blob can be.
      await marker;
      // Two ingests of the same content may race here; both files hold identical bytes, so
      // whichever rename lands last wins and nobody can observe a difference. No fsync: the
      // background flush carries the data and the rename (see "flush" above).
      await fsp.rename(tmp, this.blobPath(digest));
      return { digest, size };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /** Commit a small blob held in memory (configs, manifests). */
  async put(data: Uint8Array | string, expected: ExpectedContent = {}): Promise<ContentInfo> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256Digest(bytes);
    // Already committed (a rebuild's config and manifest, a re-pulled manifest): a blob in
    // blobs/ was verified when it went in, so the write, fsync and rename can be skipped.
    if (
      (expected.digest === undefined || expected.digest === digest) &&
      (expected.size === undefined || expected.size === bytes.length) &&
      (await this.has(digest))
    ) {
      return { digest, size: bytes.length };
    }
    return this.ingest(Readable.from([bytes]), expected);
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await fsp.lstat(this.blobPath(digest));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async info(digest: Digest): Promise<ContentInfo> {
    try {
      const st = await fsp.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw notFound(`content ${digest}: not found`, 'ERR_NO_SUCH_BLOB');
      throw err;
    }
  }

  /**
   * Stream a blob. The bytes are re-hashed as they pass; if the file on disk no longer matches
   * its name the stream errors at its end (after the bytes were delivered), so consumers must
   * treat a stream error as "discard what you read".
   */
  async get(digest: Digest): Promise<Readable> {
    const info = await this.info(digest);
    return createReadStream(this.blobPath(digest)).pipe(new VerifyStream(info));
  }

  /** Read a whole (small) blob into memory, verified. */
  async read(digest: Digest): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await pipeline(await this.get(digest), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) chunks.push(c);
    });
    return Buffer.concat(chunks);
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await fsp.unlink(this.blobPath(digest));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async list(): Promise<ContentInfo[]> {
    const out: ContentInfo[] = [];
    for (const name of await fsp.readdir(this.blobDir)) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) {
        this.logger?.warn({ file: name }, 'content: stray file in blob directory');
        continue;
      }
      try {
        out.push({ digest, size: (await fsp.stat(path.join(this.blobDir, name))).size });
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err; // deleted while listing
      }
    }
    return out;
  }
}

/** Whether a file's sha256 is `hex` (a read error counts as no). */
async function hashMatches(file: string, hex: string): Promise<boolean> {
  const hash = createHash('sha256');
  try {
    for await (const c of createReadStream(file)) hash.update(c as Buffer);
  } catch {
    return false;
  }
  return hash.digest('hex') === hex;
}

class VerifyStream extends Transform {
  private readonly hash = createHash('sha256');
  private size = 0;

  constructor(private readonly expected: ContentInfo) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.byteLength;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const digest = `sha256:${this.hash.digest('hex')}`;
    if (digest !== this.expected.digest || this.size !== this.expected.size) {
      cb(
        internal(
          `content ${this.expected.digest} is corrupt on disk (read ${digest}, ${this.size} bytes)`,
        ),
      );
      return;
    }
    cb();
  }
}
