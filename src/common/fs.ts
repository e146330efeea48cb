import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno } from './errors.js';

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
