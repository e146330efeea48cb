/**
 * A bundle's config.json as a FIFO, so that conmon and `runc create` start before the spec
 * exists. Both spend milliseconds starting up (conmon's exec and daemonizing, runc's Go
 * runtime) before runc opens config.json; with a FIFO held open by the daemon, runc's read
 * waits there for the spec the daemon writes once it is built, and that startup overlaps the
 * daemon's own preparation (network, user, mounts, etc files).
 *
 * runc 1.1 reads config.json once (`loadSpec`: open, decode one JSON value; it does not need
 * EOF). The daemon opens the FIFO read-write before spawning conmon: the pipe then always
 * has a writer, so runc's open never blocks, and if the daemon dies before writing, its fd
 * closes, runc reads EOF, fails to parse, and conmon reports the failure and exits — nothing
 * waits forever. Once runc has created the container the caller replaces the FIFO with a
 * regular file holding the same spec (exec reads it later).
 *
 * Node cannot make a FIFO, so they are made ahead by one `mkfifo` run for several, in a
 * directory of spares on the same filesystem as the bundles, and renamed into place.
 */
import { spawn } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

import { isErrno, type Logger } from '../common/index.js';

/** Spares made per `mkfifo` run, and the count below which the next run is started. */
const BATCH = 8;
const LOW = 3;

export class SpecFifos {
  private spares: string[] = [];
  private refilling?: Promise<void>;
  private serial = 0;
  private closed = false;
  private ready = false;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Remove spares a previous daemon left, and make the first batch. */
  async init(): Promise<void> {
    await fsp.rm(this.dir, { recursive: true, force: true });
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.ready = true;
    await this.refill();
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Put a FIFO at `dest` and open it read-write, non-blocking; undefined when no spare is
   * ready (the caller writes a regular file instead). Starts a refill when spares run low.
   */
  async take(dest: string): Promise<FileHandle | undefined> {
    for (;;) {
      const spare = this.spares.pop();
      if (this.spares.length < LOW) void this.refill();
      if (spare === undefined) return undefined;
      try {
        await fsp.rename(spare, dest);
      } catch (err) {
        // A spare removed behind our back: try the next one.
        if (isErrno(err, 'ENOENT')) continue;
        throw err;
      }
      try {
        return await fsp.open(dest, constants.O_RDWR | constants.O_NONBLOCK);
      } catch (err) {
        await fsp.rm(dest, { force: true });
        throw err;
      }
    }
  }

  /** Make a batch of spares with one `mkfifo`; at most one run at a time. */
  refill(): Promise<void> {
    if (this.closed || !this.ready) return Promise.resolve();
    this.refilling ??= (async () => {
      const names = Array.from({ length: BATCH }, () =>
        path.join(this.dir, `f${process.pid}-${++this.serial}`),
      );
      try {
        await run('mkfifo', ['-m', '0600', ...names]);
        this.spares.push(...names);
      } catch (err) {
        this.log.warn({ err }, 'spec fifos not made; runc reads config.json as a file');
        await Promise.all(names.map((n) => fsp.rm(n, { force: true })));
      } finally {
        this.refilling = undefined;
      }
    })();
    return this.refilling;
  }
}

/**
 * Write `data` to a FIFO opened non-blocking, waiting whenever the pipe is full until runc
 * reads on. `abandon` settles when the reader cannot be coming any more (conmon reported):
 * the write then stops with an error instead of waiting for ever.
 */
export async function writeToFifo(
  fh: FileHandle,
  data: Buffer,
  abandon: Promise<unknown>,
): Promise<void> {
  let gone = false;
  void abandon.then(
    () => (gone = true),
    () => (gone = true),
  );
  let off = 0;
  while (off < data.length) {
    try {
      off += (await fh.write(data, off, data.length - off)).bytesWritten;
      continue;
    } catch (err) {
      if (!isErrno(err, 'EAGAIN')) throw err;
    }
    if (gone) throw new Error('runc stopped reading config.json');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * A config.json still a FIFO (its daemon died before writing the spec): remove it and give
 * a runc blocked opening it EOF, so that it fails and its conmon goes. True if it was one.
 */
export async function releaseSpecFifo(config: string): Promise<boolean> {
  try {
    if (!(await fsp.lstat(config)).isFIFO()) return false;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
  // Non-blocking: fails with ENXIO when no reader waits (then there is nothing to free).
  const fh = await fsp
    .open(config, constants.O_WRONLY | constants.O_NONBLOCK)
    .catch((err: unknown) => {
      if (isErrno(err, 'ENXIO') || isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
  await fsp.rm(config, { force: true });
  await fh?.close();
  return true;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.trim()}`)),
    );
  });
}
