/**
 * COPY/ADD into a mounted filesystem, as Docker's classic builder copies: a directory source
 * copies its contents, a file lands in the destination directory (a destination ending in
 * `/` or an existing directory) or at the destination path; missing parents are created
 * (0755, owned by the --chown identity); modes are kept (setuid/setgid dropped for context
 * files), owners are the identity (root unless --chown), mtimes are kept, symlinks are
 * copied as symlinks and hard links inside one directory copy stay linked. Nothing is
 * written outside the destination root: paths are resolved inside it, and existing entries
 * are replaced, never followed.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';

import { invalidArgument, isErrno } from '../common/index.js';
import { resolveInRoot } from '../containers/index.js';
import { Limiter } from './limit.js';

export interface Identity {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** Owner of everything written; undefined keeps the source's (ADD of an archive). */
  identity?: Identity;
  /** --chmod, applied to files and directories copied. */
  chmod?: number;
  /** Drop setuid/setgid bits (files from the build context). */
  dropSetid: boolean;
  /** `--exclude`: whether a path inside a copied directory (relative to it) is left out. */
  exclude?: (rel: string) => boolean;
}

const SETID = 0o6000;

/** Create the directories of `dest` (absolute in `rootfs`) that are missing; returns its host path. */
export async function mkdirAllInRoot(
  rootfs: string,
  dest: string,
  identity: Identity | undefined,
): Promise<string> {
  const parts = dest.split('/').filter((p) => p !== '' && p !== '.');
  let soFar = '/';
  let host = rootfs;
  for (const part of parts) {
    soFar = path.posix.join(soFar, part);
    host = await resolveInRoot(rootfs, soFar);
    let st: Stats | undefined;
    try {
      st = await fsp.lstat(host);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (!st) {
      await fsp.mkdir(host, { mode: 0o755 });
      await fsp.chmod(host, 0o755);
      if (identity) await fsp.lchown(host, identity.uid, identity.gid);
    } else if (!st.isDirectory()) {
      throw invalidArgument(`mkdir ${soFar}: not a directory`);
    }
  }
  return host;
}

/** Whether `dest` (absolute in `rootfs`) is an existing directory there. */
export async function isDirInRoot(rootfs: string, dest: string): Promise<boolean> {
  try {
    return (await fsp.stat(await resolveInRoot(rootfs, dest))).isDirectory();
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

class TreeCopier {
  /** `dev:ino` of a multiply-linked source file → its first copy (host path, when done). */
  private readonly links = new Map<string, Promise<string>>();
  private readonly io = new Limiter(16);

  constructor(
    private readonly opts: CopyOptions,
    private readonly keepLinks: boolean,
  ) {}

  private mode(st: Stats): number {
    if (this.opts.chmod !== undefined) return this.opts.chmod;
    const m = st.mode & 0o7777;
    return this.opts.dropSetid ? m & ~SETID : m;
  }

  private async own(p: string, st: Stats): Promise<void> {
    const id = this.opts.identity ?? { uid: st.uid, gid: st.gid };
    await fsp.lchown(p, id.uid, id.gid);
  }

  /** Remove whatever is at `dst` unless it is a directory and `dir` is wanted. */
  private async clear(dst: string, dir: boolean): Promise<boolean> {
    let st: Stats;
    try {
      st = await fsp.lstat(dst);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
    if (dir && st.isDirectory()) return true;
    if (st.isDirectory())
      throw invalidArgument(`cannot overwrite directory ${dst} with non-directory`);
    await fsp.rm(dst, { force: true });
    return false;
  }

  /** Copy `src` (host path, lstat'ed) to `dst` (host path inside the destination root). */
  async copy(src: string, dst: string, top = false, rel = ''): Promise<void> {
    if (rel !== '' && this.opts.exclude?.(rel)) return;
    const st = await fsp.lstat(src);
    if (st.isDirectory()) {
      const existed = await this.clear(dst, true);
      if (!existed) await fsp.mkdir(dst);
      // An existing top directory keeps its metadata; everything copied takes the source's.
      if (!existed || !top) {
        await this.own(dst, st);
        await fsp.chmod(dst, this.mode(st));
      }
      // Entries in parallel: each file is a handful of syscalls, latency-bound.
      const names = await fsp.readdir(src);
      await Promise.all(
        names.map((name) =>
          this.copy(
            path.join(src, name),
            path.join(dst, name),
            false,
            rel ? `${rel}/${name}` : name,
          ),
        ),
      );
      if (!existed || !top) await fsp.utimes(dst, st.atime, st.mtime);
      return;
    }
    await this.clear(dst, false);
    if (st.isSymbolicLink()) {
      await fsp.symlink(await fsp.readlink(src), dst);
      await this.own(dst, st);
      await fsp.lutimes(dst, st.atime, st.mtime);
      return;
    }
    if (!st.isFile()) return; // sockets, fifos and devices are not copied
    const key = `${st.dev}:${st.ino}`;
    const first = this.keepLinks && st.nlink > 1 ? this.links.get(key) : undefined;
    if (first !== undefined) {
      const target = await first;
      await this.io.run(() => fsp.link(target, dst));
      return;
    }
    const done = this.io.run(async () => {
      await fsp.copyFile(src, dst);
      // Owner first: chown clears setuid/setgid, which a copy --from keeps.
      await this.own(dst, st);
      await fsp.chmod(dst, this.mode(st));
      await fsp.utimes(dst, st.atime, st.mtime);
      return dst;
    });
    // Registered before it completes, so a link met meanwhile waits for this copy.
    if (this.keepLinks && st.nlink > 1) this.links.set(key, done);
    await done;
  }
}

/**
 * Copy one source (a host path, already resolved inside its root) to `dest` (absolute in
 * `rootfs`). `destIsDir`: the destination ends in `/` (or several sources were given).
 */
export async function copySource(
  rootfs: string,
  src: string,
  dest: string,
  destIsDir: boolean,
  opts: CopyOptions,
): Promise<void> {
  const st = await fsp.stat(src);
  if (st.isDirectory()) {
    const host = await mkdirAllInRoot(rootfs, dest, opts.identity);
    await new TreeCopier(opts, true).copy(src, host, true);
    return;
  }
  let target = dest;
  if (destIsDir || (await isDirInRoot(rootfs, dest)))
    target = path.posix.join(dest, path.basename(src));
  const parent = await mkdirAllInRoot(rootfs, path.posix.dirname(target), opts.identity);
  // A single file never keeps a hard link (Docker copies its content).
  await new TreeCopier(opts, false).copy(src, path.join(parent, path.posix.basename(target)));
}

/** Write `content` as a file at `dest` (a heredoc source), or inside it when it is a directory. */
export async function writeFileInRoot(
  rootfs: string,
  name: string,
  content: string,
  dest: string,
  destIsDir: boolean,
  opts: CopyOptions,
): Promise<void> {
  let target = dest;
  if (destIsDir || (await isDirInRoot(rootfs, dest))) target = path.posix.join(dest, name);
  const parent = await mkdirAllInRoot(rootfs, path.posix.dirname(target), opts.identity);
  const host = path.join(parent, path.posix.basename(target));
  await fsp.rm(host, { force: true });
  await fsp.writeFile(host, content, { mode: 0o644 });
  const id = opts.identity ?? { uid: 0, gid: 0 };
  await fsp.lchown(host, id.uid, id.gid);
  await fsp.chmod(host, opts.chmod ?? 0o644);
}

/** Whether a file starts like a tar archive Docker's ADD unpacks (plain or gzip). */
export async function isLocalArchive(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return true;
    return bytesRead >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}
