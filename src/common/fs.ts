import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno } from './errors.js';
import { run } from './exec.js';

/**
 * Write a file so that a reader (or a restart after kill -9) sees either the old content or
 * the new, never a torn mix: write a temp file beside it, fsync it, rename it over the target,
 * fsync the directory so the rename itself is durable. `durable: false` skips both fsyncs, for
 * files regenerated before anything reads them again after a crash (still never torn).
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  mode = 0o600,
  opts: { durable?: boolean } = {},
): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  if (durable) await syncDir(dir);
}

export async function writeJsonAtomic(
  file: string,
  value: unknown,
  mode = 0o600,
  opts: { durable?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value), mode, opts);
}

export async function syncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * syncfs(2) of one filesystem (through coreutils' `sync -f`: Node has no binding), coalesced:
 * a call resolves after a sync that started after the call, and callers arriving while one
 * runs share the next. Layers unpacked side by side by one pull then pay for one or two
 * flushes, not one each in chain order.
 */
export class FilesystemSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  sync(): Promise<void> {
    if (this.running === undefined) {
      this.running = run(['sync', '--file-system', this.dir]).then(
        () => void (this.running = undefined),
        (err: unknown) => {
          this.running = undefined;
          throw err;
        },
      );
      return this.running;
    }
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.sync();
      });
    return this.next;
  }
}

/** Read and parse a JSON file; undefined when it does not exist. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}
