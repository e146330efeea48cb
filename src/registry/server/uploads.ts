/**
 * Upload sessions (POST starts one, PATCH appends, PUT finishes, DELETE cancels).
 *
 * A session is a file under `uploads/` plus, in memory, the running sha256 of what the file
 * holds and its size. The hash is updated only with bytes already written, so the two always
 * agree: a PATCH whose connection drops halfway keeps the chunks that reached the file and
 * the client can ask where to resume (GET gives the Range). Nothing is visible as a blob until
 * PUT checks the digest and the store renames the fsynced file into place. Sessions live in
 * memory only: a restart drops them (the store empties `uploads/` on open), and an idle one is
 * cancelled after an hour. Requests on one session run one after another.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { constants, promises as fsp, type promises } from 'node:fs';
import path from 'node:path';

import type { Logger } from '../../common/index.js';
import type { Digest } from '../../oci/index.js';
import { AlignedPool, BLOCK, DirectAppender, refusesDirect } from './direct-io.js';
import { regErr } from './errors.js';
import { isUploadId } from './names.js';
import type { ByteRange } from './range.js';
import type { RegistryStore } from './store.js';

/** Coalesce request chunks (often 16–64 KiB) into writes of at most this size. */
const WRITE_BATCH = 1 << 20;
/** Buffered writes only: start flushing written data to disk every this many bytes. */
const SYNC_EVERY = 8 << 20;
/** Staging buffers for direct writes: one per upload being written, a batch and a block each. */
const stages = new AlignedPool(WRITE_BATCH + BLOCK, 64);
const IDLE_MS = 60 * 60 * 1000;

export interface UploadSession {
  readonly id: string;
  readonly repo: string;
  readonly file: string;
  readonly startedAt: Date;
  size: number;
}

interface Session extends UploadSession {
  fh: promises.FileHandle;
  hash: Hash;
  touched: number;
  /** Requests running or queued on this session. */
  pending: number;
  tail: Promise<unknown>;
  done: boolean;
}

export class Uploads {
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: Logger,
    /** Write bodies with O_DIRECT where the filesystem allows. */
    private readonly directIo = true,
  ) {
    this.timer = setInterval(() => void this.expire(), 5 * 60 * 1000);
    this.timer.unref();
  }

  async create(repo: string): Promise<UploadSession> {
    const id = randomBytes(16).toString('hex');
    const file = path.join(this.store.uploadDir, id);
    const fh = await fsp.open(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    const s: Session = {
      id,
      repo,
      file,
      startedAt: new Date(),
      size: 0,
      fh,
      hash: createHash('sha256'),
      touched: Date.now(),
      pending: 0,
      tail: Promise.resolve(),
      done: false,
    };
    this.sessions.set(id, s);
    return s;
  }

  get(repo: string, id: string): UploadSession {
    return this.session(repo, id);
  }

  private session(repo: string, id: string): Session {
    const s = isUploadId(id) ? this.sessions.get(id) : undefined;
    if (!s || s.repo !== repo || s.done) {
      throw regErr('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: id });
    }
    return s;
  }

  /** Run `fn` after the session's earlier requests. */
  private serial<T>(s: Session, fn: () => Promise<T>): Promise<T> {
    s.pending++;
    const run = s.tail
      .then(() => {
        if (s.done) throw regErr('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
        return fn();
      })
      .finally(() => {
        s.pending--;
        s.touched = Date.now();
      });
    s.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Append a request body. With a Content-Range, the chunk must start where the upload ends
   * (416 otherwise, before reading anything).
   */
  async append(
    repo: string,
    id: string,
    body: AsyncIterable<Buffer>,
    range?: ByteRange,
  ): Promise<UploadSession> {
    const s = this.session(repo, id);
    return this.serial(s, async () => {
      if (range && range.start !== s.size) {
        throw regErr(
          'RANGE_INVALID',
          `chunk starts at ${range.start}, upload is at ${s.size}`,
          {
            expected: s.size,
          },
          416,
        );
      }
      const before = s.size;
      await this.write(s, body);
      if (range && s.size - before !== range.end - range.start + 1) {
        throw regErr(
          'SIZE_INVALID',
          `chunk of ${s.size - before} bytes does not match Content-Range`,
        );
      }
      return s;
    });
  }

  /** Append the last body (may be empty), check the digest, commit, link into the repo. */
  async finish(
    repo: string,
    id: string,
    digest: Digest,
    body: AsyncIterable<Buffer> | undefined,
  ): Promise<void> {
    const s = this.session(repo, id);
    await this.serial(s, async () => {
      if (body) await this.write(s, body);
      const got: Digest = `sha256:${s.hash.copy().digest('hex')}`;
      if (got !== digest) {
        await this.drop(s);
        throw regErr('DIGEST_INVALID', 'provided digest did not match uploaded content', {
          expected: digest,
          got,
        });
      }
      s.done = true;
      this.sessions.delete(s.id);
      try {
        // A write that failed halfway (a full disk) may have left bytes past what was hashed.
        await s.fh.truncate(s.size);
        await s.fh.sync();
      } finally {
        await s.fh.close();
      }
      try {
        await this.store.commitBlob(s.file, digest);
      } catch (err) {
        await fsp.rm(s.file, { force: true });
        throw err;
      }
      await this.store.linkBlob(repo, digest);
    });
  }

  async cancel(repo: string, id: string): Promise<void> {
    const s = this.session(repo, id);
    await this.serial(s, () => this.drop(s));
  }

  private async drop(s: Session): Promise<void> {
    if (s.done && !this.sessions.has(s.id)) return;
    s.done = true;
    this.sessions.delete(s.id);
    await s.fh.close().catch(() => undefined);
    await fsp.rm(s.file, { force: true });
  }

  /**
   * Stream a body to the session's file. Reading runs ahead of writing by at most one batch
   * (so the socket, the hash and the disk all stay busy), and bytes are hashed only once their
   * write has landed: if the connection drops, the batch not yet written is discarded whole
   * and the hash still describes exactly the bytes in the file. Writes go past the page cache
   * (direct-io.ts) where the filesystem allows it, buffered otherwise.
   */
  private async write(s: Session, body: AsyncIterable<Buffer>): Promise<void> {
    const stored = (b: Buffer): void => {
      s.hash.update(b);
      s.size += b.length;
    };
    const stage = this.directIo ? stages.take() : undefined;
    const direct =
      stage &&
      (await DirectAppender.open(s.file, s.size, stage, stored).catch((err: unknown) => {
        stages.give(stage);
        throw err;
      }));
    let unsynced = 0;
    const buffered = async (bufs: Buffer[], n: number): Promise<void> => {
      const { bytesWritten } = await s.fh.writev(bufs, s.size);
      if (bytesWritten !== n) {
        // Short writes on a regular file mean a full or failing disk; write the rest.
        const rest = Buffer.concat(bufs).subarray(bytesWritten);
        await s.fh.write(rest, 0, rest.length, s.size + bytesWritten);
      }
      for (const b of bufs) stored(b);
      unsynced += n;
      if (unsynced >= SYNC_EVERY) {
        unsynced = 0;
        s.fh.datasync().catch(() => undefined); // the commit's fsync reports errors
      }
    };
    const store = (bufs: Buffer[], n: number): Promise<void> =>
      direct
        ? direct.append(bufs, n).catch((err: unknown) => {
            throw explained(err);
          })
        : buffered(bufs, n);

    let batch: Buffer[] = [];
    let batchBytes = 0;
    let writing: Promise<void> = Promise.resolve();
    let failed: unknown;
    const flush = (): void => {
      if (batchBytes === 0) return;
      const bufs = batch;
      const n = batchBytes;
      batch = [];
      batchBytes = 0;
      writing = writing.then(async () => {
        if (failed !== undefined) return;
        try {
          await store(bufs, n);
        } catch (err) {
          failed = err;
        }
      });
    };
    try {
      for await (let chunk of body) {
        while (chunk.length > 0) {
          const piece = chunk.subarray(0, WRITE_BATCH - batchBytes);
          chunk = chunk.subarray(piece.length);
          batch.push(piece);
          batchBytes += piece.length;
          if (batchBytes === WRITE_BATCH) {
            // Wait for the previous batch before queueing this one: one write in flight.
            await writing;
            if (failed !== undefined) throw failed;
            flush();
          }
        }
      }
      flush();
    } finally {
      await writing;
      // What the appender holds (a block's worth at most) goes in, however the body ended.
      if (direct) await direct.close().catch((err: unknown) => (failed ??= explained(err)));
      if (stage) stages.give(stage);
    }
    if (failed !== undefined) throw failed;
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    for (const s of [...this.sessions.values()]) {
      // Idle means no request running or queued, and none for an hour: a slow PATCH that
      // has been streaming for longer is busy, not idle.
      if (s.pending > 0 || now - s.touched < IDLE_MS) continue;
      this.logger.info({ repo: s.repo, uuid: s.id }, 'registry: cancelling idle upload');
      await this.drop(s);
    }
  }

  /** On shutdown: close every file (the store drops them on the next start). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.sessions.values()].map((s) => this.drop(s)));
  }
}

/**
 * A filesystem that takes O_DIRECT opens but refuses the transfers (none of Linux's common
 * ones) fails the upload with the way out, rather than switching paths mid-body.
 */
function explained(err: unknown): unknown {
  if (!refusesDirect(err)) return err;
  return new Error(
    `the filesystem refused a direct write (${(err as Error).message}): run the registry with --direct-io=false`,
  );
}
