/**
 * COPY/ADD into a planned layer (layer-plan.ts: the step's changes over the previous
 * state), as Docker's classic builder copies: a directory source copies its contents, a
 * file lands in the destination directory (a destination ending in `/` or an existing
 * directory) or at the destination path; missing parents are created (0755, owned by the
 * --chown identity); modes are kept (setuid/setgid dropped for context files), owners are
 * the identity (root unless --chown), mtimes are kept, symlinks are copied as symlinks and
 * hard links inside one directory copy stay linked. Nothing is written outside the
 * destination root: paths are resolved inside it, and existing entries are replaced, never
 * followed. Paths in the plan are relative to the root (no leading `/`).
 */
import path from 'node:path';

import { invalidArgument, isErrno } from '../common/index.js';
import type { LayerPlan } from './layer-plan.js';
import { Limiter } from './limit.js';
import {
  joinRel,
  resolveInTree,
  statInTree,
  type SourceNode,
  type SourceTree,
} from './source-tree.js';

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

/** Create the directories of `dest` (absolute in the root) that are missing; returns its path. */
export async function mkdirAllInRoot(
  plan: LayerPlan,
  dest: string,
  identity: Identity | undefined,
): Promise<string> {
  const parts = dest.split('/').filter((p) => p !== '' && p !== '.');
  let soFar = '/';
  let at = '';
  for (const part of parts) {
    soFar = path.posix.join(soFar, part);
    at = await resolveInTree(plan, soFar);
    let st: SourceNode | undefined;
    try {
      st = await plan.lstat(at);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (!st) {
      const id = identity ?? { uid: 0, gid: 0 };
      await plan.mkdir(at, { ...id, perm: 0o755, mtime: Date.now() / 1000 });
    } else if (st.kind !== 'dir') {
      throw invalidArgument(`mkdir ${soFar}: not a directory`);
    }
  }
  return at;
}

/** Whether `dest` (absolute in the root) is an existing directory there. */
export async function isDirInRoot(plan: LayerPlan, dest: string): Promise<boolean> {
  try {
    return (await statInTree(plan, dest)).kind === 'dir';
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

class TreeCopier {
  /** A multiply-linked source file's id → its first copy's path in the plan, once planned. */
  private readonly links = new Map<string, Promise<string>>();
  /** Source lookups on a host directory are file system calls: a bounded number at once. */
  private readonly io = new Limiter(32);

  constructor(
    private readonly tree: SourceTree,
    private readonly plan: LayerPlan,
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
    let st: SourceNode;
    try {
      st = await this.plan.lstat(dst);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
    if (dir && st.kind === 'dir') return true;
    if (st.kind === 'dir')
      throw invalidArgument(`cannot overwrite directory /${dst} with non-directory`);
    await this.plan.remove(dst);
    return false;
  }

  /**
   * Copy `src` (relative to the tree) to `dst` (relative to the plan's root). `fresh`: `dst`'s
   * directory was just made by this copy, so nothing can be in the way.
   */
  async copy(src: string, dst: string, top = false, rel = '', fresh = false): Promise<void> {
    if (rel !== '' && this.opts.exclude?.(rel)) return;
    const st = await this.io.run(() => this.tree.lstat(src));
    if (st.kind === 'dir') {
      const existed = fresh ? false : await this.clear(dst, true);
      // An existing top directory keeps its metadata; everything copied takes the source's.
      if (!existed) {
        await this.plan.mkdir(dst, { ...this.owner(st), perm: this.mode(st), mtime: st.mtime });
      } else if (!top) await this.plan.setMeta(dst, { ...this.owner(st), perm: this.mode(st) });
      const names = await this.io.run(() => this.tree.readdir(src));
      await Promise.all(
        names.map((name) =>
          this.copy(
            joinRel(src, name),
            joinRel(dst, name),
            false,
            rel ? `${rel}/${name}` : name,
            !existed,
          ),
        ),
      );
      // Last: entries made in it changed its mtime.
      if (!existed || !top) await this.plan.setMeta(dst, { mtime: st.mtime });
      return;
    }
    if (!fresh) await this.clear(dst, false);
    const id = this.owner(st);
    if (st.kind === 'symlink') {
      const target = await this.io.run(() => this.tree.readlink(src));
      await this.plan.symlink(dst, target, { ...id, perm: 0o777, mtime: st.mtime });
      return;
    }
    if (st.kind !== 'file') return; // sockets, fifos and devices are not copied
    const linked = this.keepLinks && st.nlink > 1;
    const first = linked ? this.links.get(st.id) : undefined;
    if (first !== undefined) {
      await this.plan.link(await first, dst);
      return;
    }
    const done = this.plan
      .writeFile(
        dst,
        { tree: this.tree, rel: src, size: st.size },
        { ...id, perm: this.mode(st), mtime: st.mtime },
      )
      .then(() => dst);
    // Registered before it is planned, so a link met meanwhile waits for it.
    if (linked) this.links.set(st.id, done);
    await done;
  }
}

/**
 * Copy one source (`src`, already resolved inside `tree`) to `dest` (absolute in the plan's
 * root). `destIsDir`: the destination ends in `/` (or several sources were given).
 */
export async function copySource(
  plan: LayerPlan,
  tree: SourceTree,
  src: string,
  dest: string,
  destIsDir: boolean,
  opts: CopyOptions,
): Promise<void> {
  const st = await statInTree(tree, src);
  if (st.kind === 'dir') {
    const at = await mkdirAllInRoot(plan, dest, opts.identity);
    await new TreeCopier(tree, plan, opts, true).copy(src, at, true);
    return;
  }
  let target = dest;
  if (destIsDir || (await isDirInRoot(plan, dest)))
    target = path.posix.join(dest, path.posix.basename(src));
  const parent = await mkdirAllInRoot(plan, path.posix.dirname(target), opts.identity);
  // A single file never keeps a hard link (Docker copies its content).
  await new TreeCopier(tree, plan, opts, false).copy(
    src,
    joinRel(parent, path.posix.basename(target)),
  );
}

/** Write `content` as a file at `dest` (a heredoc source), or inside it when it is a directory. */
export async function writeFileInRoot(
  plan: LayerPlan,
  name: string,
  content: string,
  dest: string,
  destIsDir: boolean,
  opts: CopyOptions,
): Promise<void> {
  let target = dest;
  if (destIsDir || (await isDirInRoot(plan, dest))) target = path.posix.join(dest, name);
  const parent = await mkdirAllInRoot(plan, path.posix.dirname(target), opts.identity);
  const at = joinRel(parent, path.posix.basename(target));
  let st: SourceNode | undefined;
  try {
    st = await plan.lstat(at);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  if (st?.kind === 'dir')
    throw invalidArgument(`cannot overwrite directory /${at} with non-directory`);
  if (st) await plan.remove(at);
  const id = opts.identity ?? { uid: 0, gid: 0 };
  await plan.writeFile(at, Buffer.from(content), {
    ...id,
    perm: opts.chmod ?? 0o644,
    mtime: Date.now() / 1000,
  });
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
