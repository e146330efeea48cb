import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants, createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  internal,
  invalidArgument,
  isErrno,
  notFound,
  syncDir,
  type Logger,
} from '../common/index.js';
import { digestHex, isDigest, sha256Digest, type Digest } from '../oci/index.js';

/** How much an ingest may have queued for writing before it waits. */
const WRITE_BUFFER = 1 << 20;

/**
 * The content store holds immutable blobs (layer tars, configs, manifests) by sha256 digest.
 *
 * Lifecycle of a blob:
 *   ingest   bytes stream into `ingest/<random>` while being hashed and counted;
 *   commit   size and digest are checked (against the expected ones if given), the file is
 *            fsynced, renamed to `blobs/sha256/<hex>`, the directory fsynced, the file made
 *            read-only. A blob is visible only once committed, so a crash mid-ingest leaves a
 *            temp file and nothing else; `open` deletes those.
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

export class ContentStore {
  private constructor(
    readonly root: string,
    private readonly logger: Logger | undefined,
  ) {}

  static async open(root: string, logger?: Logger): Promise<ContentStore> {
    const store = new ContentStore(root, logger);
    await fsp.mkdir(store.blobDir, { recursive: true, mode: 0o700 });
    // Anything in ingest/ belongs to an ingest that never committed (we were killed).
    await fsp.rm(store.ingestDir, { recursive: true, force: true });
    await fsp.mkdir(store.ingestDir, { recursive: true, mode: 0o700 });
    return store;
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
        await fh.sync();
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
      // Two ingests of the same content may race here; both files hold identical bytes, so
      // whichever rename lands last wins and nobody can observe a difference.
      await fsp.rename(tmp, this.blobPath(digest));
      await syncDir(this.blobDir);
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
