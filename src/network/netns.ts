import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';

import { conflict, internal, isErrno, run } from '../common/index.js';

/**
 * Persistent network namespaces: an nsfs bind mount on a file under a directory that is itself
 * a private bind mount (so the namespace mounts neither propagate into other mount namespaces
 * nor receive theirs), as `ip netns add` does under /run/netns.
 */

/** Decode the octal escapes (\040 for space…) of a /proc/self/mountinfo field. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount points listed in /proc/self/mountinfo text. */
export function mountPoints(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.add(unescapeMountField(f[4]!));
  }
  return out;
}

async function readMountPoints(): Promise<Set<string>> {
  return mountPoints(await fsp.readFile('/proc/self/mountinfo', 'utf8'));
}

/** Make `dir` exist and be a private bind mount of itself (once; idempotent). */
export async function ensureNetnsDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const real = await fsp.realpath(dir);
  if ((await readMountPoints()).has(real)) return;
  await run(['mount', '--bind', '--make-private', real, real]);
}

/** Unmount the directory's bind mount (teardown); no-op when it is not mounted. */
export async function releaseNetnsDir(dir: string): Promise<void> {
  let real: string;
  try {
    real = await fsp.realpath(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if ((await readMountPoints()).has(real)) await run(['umount', real]);
  await fsp.rmdir(real).catch(() => undefined);
}

/** argv that creates a namespace bound at `file` and brings its loopback up, in one process. */
export function createNetnsArgv(file: string): string[] {
  return ['unshare', `--net=${file}`, 'ip', 'link', 'set', 'dev', 'lo', 'up'];
}

/** argv that creates a namespace bound at `file` and runs an `ip -batch -` inside it. */
export function createNetnsBatchArgv(file: string): string[] {
  return ['unshare', `--net=${file}`, 'ip', '-batch', '-'];
}

/**
 * Create the namespace with its loopback up; with `lines`, also run those `ip -batch` lines
 * inside it, in the same process.
 */
export async function createNetns(file: string, lines?: readonly string[]): Promise<void> {
  try {
    const fh = await fsp.open(
      file,
      constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL,
      0o444,
    );
    await fh.close();
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
    // Left by a crash between creating the file and mounting on it, or a live namespace.
    if ((await readMountPoints()).has(file))
      throw conflict(`network namespace ${file} already exists`);
  }
  try {
    if (lines === undefined) await run(createNetnsArgv(file));
    else
      await run(createNetnsBatchArgv(file), {
        input: ['link set dev lo up', ...lines].join('\n') + '\n',
      });
  } catch (err) {
    await removeNetns(file).catch(() => undefined);
    throw internal(`creating network namespace ${file}`, err);
  }
}

/** statfs magic of nsfs, the filesystem of a bound namespace file. */
const NSFS_MAGIC = 0x6e736673;

/**
 * Unmount and delete a namespace file; idempotent. A symlink (a container's name for a spare
 * namespace it adopted, see NetworkManager) goes with the namespace it points to.
 */
export async function removeNetns(file: string): Promise<void> {
  const target = await fsp.readlink(file).catch(() => undefined);
  if (target !== undefined) {
    await removeNetns(path.resolve(path.dirname(file), target));
    await fsp.rm(file, { force: true });
    return;
  }
  // A statfs instead of spawning umount when nothing is bound there (already removed, or a
  // file left by a crash before the bind): removal is called again on every remove path.
  const st = await fsp.statfs(file).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  if (st === undefined) return;
  if (st.type !== NSFS_MAGIC) {
    await fsp.rm(file, { force: true });
    return;
  }
  // Detached lazily, as `ip netns delete` does: a plain umount fails with EBUSY while a mount
  // namespace being made elsewhere (any container's runc init, before it drops the host's
  // mounts) holds a copy of this one.
  const res = await run(['umount', '-l', file], { allowFailure: true });
  if (res.exitCode !== 0 && !/not mounted|no mount point|No such file/i.test(res.stderr)) {
    throw internal(`unmounting network namespace ${file}: ${res.stderr.trim()}`);
  }
  await fsp.rm(file, { force: true });
}

/** Where each symlink in `dir` points (name → target name), for the names given. */
export async function netnsLinks(
  dir: string,
  names: Iterable<string>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of names) {
    const t = await fsp.readlink(path.join(dir, n)).catch(() => undefined);
    if (t !== undefined) out.set(n, path.basename(t));
  }
  return out;
}

/** The ids with a namespace file in `dir`. */
export async function listNetns(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

export function netnsFile(dir: string, id: string): string {
  return path.join(dir, id);
}
