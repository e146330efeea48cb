/**
 * A COPY/ADD/WORKDIR layer planned in memory and written out as a layer tar, instead of
 * writing files into a mounted snapshot and diffing it: each file is then written once, by
 * the snapshotter unpacking the layer (and stored once, as its blob). The plan is an
 * overlay of its own: entries made here over the previous state (a snapshot mounted
 * read-only-in-use at `lowerRoot`), with overlayfs's rules, so the tar is the diff a
 * mounted snapshot would give:
 *
 * - a directory that existed and gets an entry is "copied up": it is in the layer with its
 *   metadata, its mtime bumped by the change;
 * - a directory made here where nothing was hides nothing below it; one made where an entry
 *   was removed is opaque (`.wh..wh..opq` after it), as overlayfs marks it;
 * - an entry removed and not replaced is a whiteout (`.wh.<name>`);
 * - hard links made here share one entry: the first in the tar holds the content.
 *
 * Paths are relative to the root, without a leading `/`; callers resolve symlinks with
 * resolveInTree (the plan answers lstat/readlink for the merged view), so the lower is only
 * ever read through real directories.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import {
  encodeHeader,
  END_OF_ARCHIVE,
  padding,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
  type TarHeader,
} from '../archive/index.js';
import { isErrno } from '../common/index.js';
import { nodeOf, type SourceNode, type SourceTree } from './source-tree.js';

/** A file's bytes: a source tree's file, or a buffer (heredocs). */
export type Content = { tree: SourceTree; rel: string; size: number } | Buffer;

export interface Meta {
  uid: number;
  gid: number;
  perm: number;
  mtime: number;
}

interface Inode extends Meta {
  content?: Content;
}

interface PlanNode {
  kind: 'dir' | 'file' | 'symlink' | 'whiteout';
  /** Shared by hard links (files); a directory's or symlink's own metadata. */
  inode: Inode;
  target?: string;
  /** A directory made here where nothing was: nothing of the lower below it. */
  fresh?: boolean;
  /** A directory made where a lower entry was removed. */
  opaque?: boolean;
  /** Something of the lower was at this path (removing the node leaves a whiteout). */
  overLower?: boolean;
}

const enoent = (rel: string): Error =>
  Object.assign(new Error(`ENOENT: no such file or directory, '${rel}'`), { code: 'ENOENT' });

const now = (): number => Date.now() / 1000;
const parentOf = (rel: string): string => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};

export class LayerPlan {
  private readonly nodes = new Map<string, PlanNode>();
  private readonly kids = new Map<string, Set<string>>();
  private nextIno = 1;

  /** `lowerRoot`: the previous state, mounted (read for what the plan does not hide). */
  constructor(readonly lowerRoot: string) {}

  /** Whether anything was planned (a WORKDIR that found its directory plans nothing). */
  get empty(): boolean {
    return this.nodes.size === 0;
  }

  private async lowerStat(rel: string): Promise<SourceNode | undefined> {
    try {
      const st = await fsp.lstat(path.join(this.lowerRoot, rel));
      return nodeOf(st, `lower:${st.ino}`);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  /** The lower's entry at `rel`, when no planned entry hides it (never through a symlink). */
  private async lowerEntry(rel: string): Promise<SourceNode | undefined> {
    const parts = rel.split('/');
    // The nearest planned ancestor decides whether the lower shows through.
    let from = 0;
    for (let i = parts.length - 1; i > 0; i--) {
      const a = this.nodes.get(parts.slice(0, i).join('/'));
      if (!a) continue;
      if (a.kind !== 'dir' || a.fresh || a.opaque) return undefined;
      from = i;
      break;
    }
    // Components in between are the lower's own: each must be a real directory.
    for (let i = from + 1; i < parts.length; i++) {
      const st = await this.lowerStat(parts.slice(0, i).join('/'));
      if (st?.kind !== 'dir') return undefined;
    }
    return this.lowerStat(rel);
  }

  async lstat(rel: string): Promise<SourceNode> {
    const n = this.nodes.get(rel);
    if (n) {
      if (n.kind === 'whiteout') throw enoent(rel);
      const type = n.kind === 'dir' ? 0o040000 : n.kind === 'file' ? 0o100000 : 0o120000;
      return {
        kind: n.kind,
        mode: type | (n.kind === 'symlink' ? 0o777 : n.inode.perm),
        uid: n.inode.uid,
        gid: n.inode.gid,
        mtime: n.inode.mtime,
        atime: n.inode.mtime,
        size: 0,
        nlink: 1,
        id: `plan:${rel}`,
      };
    }
    if (rel === '') return (await this.lowerStat(''))!;
    const st = await this.lowerEntry(rel);
    if (!st) throw enoent(rel);
    return st;
  }

  async readlink(rel: string): Promise<string> {
    const n = this.nodes.get(rel);
    if (n?.kind === 'symlink') return n.target!;
    return fsp.readlink(path.join(this.lowerRoot, rel));
  }

  /**
   * Copy up the directories above `rel` that are not planned yet (they are the lower's: the
   * caller resolved them), and bump its parent's mtime, as a change in a directory does.
   */
  private async touchParents(rel: string): Promise<void> {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.nodes.has(dir)) continue;
      const st = await this.lowerStat(dir);
      // Entries copied in parallel share parents: another may have copied it up meanwhile.
      if (this.nodes.has(dir)) continue;
      if (st?.kind !== 'dir') throw enoent(dir);
      this.set(dir, {
        kind: 'dir',
        inode: { uid: st.uid, gid: st.gid, perm: st.mode & 0o7777, mtime: st.mtime },
        overLower: true,
      });
    }
    const parent = this.nodes.get(parentOf(rel));
    if (parent) parent.inode.mtime = now();
  }

  private set(rel: string, n: PlanNode): void {
    this.nodes.set(rel, n);
    const p = parentOf(rel);
    let k = this.kids.get(p);
    if (!k) this.kids.set(p, (k = new Set()));
    k.add(rel.slice(p === '' ? 0 : p.length + 1));
  }

  /** What a new entry at `rel` replaces: a removed lower entry, or nothing. */
  private replaced(rel: string): { overLower: boolean } {
    const prev = this.nodes.get(rel);
    return { overLower: prev?.overLower === true };
  }

  async mkdir(rel: string, meta: Meta): Promise<void> {
    await this.touchParents(rel);
    const { overLower } = this.replaced(rel);
    this.set(rel, {
      kind: 'dir',
      inode: { ...meta },
      ...(overLower ? { opaque: true, overLower } : { fresh: true }),
    });
  }

  async writeFile(rel: string, content: Content, meta: Meta): Promise<void> {
    await this.touchParents(rel);
    this.set(rel, { kind: 'file', inode: { ...meta, content }, ...this.replaced(rel) });
  }

  async symlink(rel: string, target: string, meta: Meta): Promise<void> {
    await this.touchParents(rel);
    this.set(rel, { kind: 'symlink', inode: { ...meta }, target, ...this.replaced(rel) });
  }

  /** A hard link at `rel` to the file planned at `existing`. */
  async link(existing: string, rel: string): Promise<void> {
    const n = this.nodes.get(existing);
    if (n?.kind !== 'file') throw enoent(existing);
    await this.touchParents(rel);
    this.set(rel, { kind: 'file', inode: n.inode, ...this.replaced(rel) });
  }

  /**
   * Owner, mode and mtime of an entry (what chown/chmod/utimes would change): a planned one,
   * or an existing directory of the lower, copied up.
   */
  async setMeta(rel: string, meta: Partial<Meta>): Promise<void> {
    let n = this.nodes.get(rel);
    if (!n) {
      const st = await this.lowerEntry(rel);
      if (st?.kind !== 'dir') throw enoent(rel);
      await this.touchParents(rel);
      n = this.nodes.get(rel) ?? {
        kind: 'dir',
        inode: { uid: st.uid, gid: st.gid, perm: st.mode & 0o7777, mtime: st.mtime },
        overLower: true,
      };
      if (!this.nodes.has(rel)) this.set(rel, n);
    }
    if (n.kind === 'whiteout') throw enoent(rel);
    Object.assign(n.inode, meta);
  }

  /** Remove a non-directory entry (planned, or the lower's). */
  async remove(rel: string): Promise<void> {
    const n = this.nodes.get(rel);
    const overLower = n ? n.overLower === true : (await this.lowerEntry(rel)) !== undefined;
    if (!n && !overLower) return;
    await this.touchParents(rel);
    if (overLower)
      this.set(rel, {
        kind: 'whiteout',
        inode: { uid: 0, gid: 0, perm: 0, mtime: now() },
        overLower,
      });
    else {
      this.nodes.delete(rel);
      this.kids.get(parentOf(rel))?.delete(rel.slice(rel.lastIndexOf('/') + 1));
    }
  }

  /** The plan as a layer tar: parents before children, names in byte order. */
  tar(): Readable {
    const nodes = this.nodes;
    const kids = this.kids;
    const first = new Map<Inode, string>();
    const name = (rel: string): string => Buffer.from(rel, 'utf8').toString('latin1');
    const header = (rel: string, n: PlanNode, over: Partial<TarHeader>): TarHeader => ({
      name: name(rel),
      type: 'file',
      mode: n.inode.perm,
      uid: n.inode.uid,
      gid: n.inode.gid,
      size: 0,
      mtime: formatMtime(n.inode.mtime),
      linkname: '',
      devmajor: 0,
      devminor: 0,
      xattrs: new Map(),
      ...over,
    });
    async function* walk(dir: string): AsyncGenerator<Buffer> {
      const names = [...(kids.get(dir) ?? [])].sort((a, b) =>
        Buffer.compare(Buffer.from(a), Buffer.from(b)),
      );
      for (const base of names) {
        const rel = dir === '' ? base : `${dir}/${base}`;
        const n = nodes.get(rel)!;
        if (n.kind === 'whiteout') {
          const wh = dir === '' ? `${WHITEOUT_PREFIX}${base}` : `${dir}/${WHITEOUT_PREFIX}${base}`;
          yield encodeHeader(header(wh, n, { mode: 0o600 }));
        } else if (n.kind === 'dir') {
          yield encodeHeader(header(`${rel}/`, n, { type: 'dir' }));
          if (n.opaque)
            yield encodeHeader(
              header(`${rel}/${WHITEOUT_OPAQUE}`, n, { mode: n.inode.perm & 0o777, mtime: '0' }),
            );
          yield* walk(rel);
        } else if (n.kind === 'symlink') {
          yield encodeHeader(
            header(rel, n, { type: 'symlink', mode: 0o777, linkname: name(n.target!) }),
          );
        } else {
          const earlier = first.get(n.inode);
          if (earlier !== undefined) {
            yield encodeHeader(header(rel, n, { type: 'link', linkname: name(earlier) }));
            continue;
          }
          first.set(n.inode, rel);
          const c = n.inode.content!;
          const size = Buffer.isBuffer(c) ? c.length : c.size;
          yield encodeHeader(header(rel, n, { size }));
          let written = 0;
          if (Buffer.isBuffer(c)) {
            yield c;
            written = c.length;
          } else {
            for await (const chunk of c.tree.read(c.rel)) {
              const b = chunk as Buffer;
              const take = b.subarray(0, Math.max(0, size - written));
              written += take.length;
              if (take.length > 0) yield take;
            }
          }
          // A source that shrank meanwhile: the header's size is what the tar must carry.
          if (written < size) throw new Error(`${rel}: source changed while it was copied`);
          yield padding(size);
        }
      }
    }
    return Readable.from(
      (async function* () {
        yield* walk('');
        yield END_OF_ARCHIVE;
      })(),
      { objectMode: false },
    );
  }
}

/** An mtime as tar carries it: whole seconds, or a decimal fraction (pax). */
export function formatMtime(s: number): string {
  if (Number.isInteger(s)) return String(s);
  return s.toFixed(9).replace(/0+$/, '');
}
