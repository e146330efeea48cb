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
import { joinRel, statInTree, type SourceNode, type SourceTree } from './source-tree.js';

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
  /** A multiply-linked source file's id → its first copy (host path, when done). */
  private readonly links = new Map<string, Promise<string>>();
  private readonly io = new Limiter(16);

  constructor(
    private readonly tree: SourceTree,
    private readonly opts: CopyOptions,
    private readonly keepLinks: boolean,
  ) {}

  private mode(st: SourceNode): number {
    if (this.opts.chmod !== undefined) return this.opts.chmod;
    const m = st.mode & 0o7777;
    return this.opts.dropSetid ? m & ~SETID : m;
  }

  private owner(st: SourceNode): Identity {
    return this.opts.identity ?? { uid: st.uid, gid: st.gid };
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

  /**
   * Copy `src` (relative to the tree) to `dst` (host path inside the destination root).
   * `fresh`: `dst`'s directory was just made by this copy, so nothing can be in the way.
   */
  async copy(src: string, dst: string, top = false, rel = '', fresh = false): Promise<void> {
    if (rel !== '' && this.opts.exclude?.(rel)) return;
    const st = await this.tree.lstat(src);
    if (st.kind === 'dir') {
      const existed = fresh ? false : await this.clear(dst, true);
      if (!existed) await fsp.mkdir(dst);
      // An existing top directory keeps its metadata; everything copied takes the source's.
      if (!existed || !top) {
        const id = this.owner(st);
        await fsp.lchown(dst, id.uid, id.gid);
        await fsp.chmod(dst, this.mode(st));
      }
      // Entries in parallel: each file is a handful of syscalls, latency-bound.
      const names = await this.tree.readdir(src);
      await Promise.all(
        names.map((name) =>
          this.copy(
            joinRel(src, name),
            path.join(dst, name),
            false,
            rel ? `${rel}/${name}` : name,
            !existed,
          ),
        ),
      );
      if (!existed || !top) await fsp.utimes(dst, st.atime, st.mtime);
      return;
    }
    if (!fresh) await this.clear(dst, false);
    if (st.kind === 'symlink') {
      const id = this.owner(st);
      await fsp.symlink(await this.tree.readlink(src), dst);
      await fsp.lchown(dst, id.uid, id.gid);
      await fsp.lutimes(dst, st.atime, st.mtime);
      return;
    }
    if (st.kind !== 'file') return; // sockets, fifos and devices are not copied
    const linked = this.keepLinks && st.nlink > 1;
    const first = linked ? this.links.get(st.id) : undefined;
    if (first !== undefined) {
      const target = await first;
      await this.io.run(() => fsp.link(target, dst));
      return;
    }
    const done = this.io.run(async () => {
      const id = this.owner(st);
      await this.tree.copyFile(src, dst, {
        ...id,
        perm: this.mode(st),
        atime: st.atime,
        mtime: st.mtime,
      });
      return dst;
    });
    // Registered before it completes, so a link met meanwhile waits for this copy.
    if (linked) this.links.set(st.id, done);
    await done;
  }
}

/**
 * Copy one source (`src`, already resolved inside `tree`) to `dest` (absolute in `rootfs`).
 * `destIsDir`: the destination ends in `/` (or several sources were given).
 */
export async function copySource(
  rootfs: string,
  tree: SourceTree,
  src: string,
  dest: string,
  destIsDir: boolean,
  opts: CopyOptions,
): Promise<void> {
  const st = await statInTree(tree, src);
  if (st.kind === 'dir') {
    const host = await mkdirAllInRoot(rootfs, dest, opts.identity);
    await new TreeCopier(tree, opts, true).copy(src, host, true);
    return;
  }
  let target = dest;
  if (destIsDir || (await isDirInRoot(rootfs, dest)))
    target = path.posix.join(dest, path.posix.basename(src));
  const parent = await mkdirAllInRoot(rootfs, path.posix.dirname(target), opts.identity);
  // A single file never keeps a hard link (Docker copies its content).
  await new TreeCopier(tree, opts, false).copy(src, path.join(parent, path.posix.basename(target)));
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
export async function isLocalArchive(tree: SourceTree, rel: string): Promise<boolean> {
  let buf = Buffer.alloc(0);
  const stream = tree.read(rel);
  try {
    for await (const chunk of stream) {
      buf = Buffer.concat([buf, chunk as Buffer]);
      if (buf.length >= 512) break;
    }
  } finally {
    stream.destroy();
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return true;
  return buf.length >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar';
}
