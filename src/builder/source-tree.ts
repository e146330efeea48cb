/**
 * What COPY/ADD read their sources from: a tree of entries addressed by paths relative to
 * its root ('' is the root). Two kinds: the build context held as an index of the client's
 * tar (context-index.ts: nothing written to disk until a step needs it) and a directory on
 * the host (another stage's mounted filesystem, an unpacked archive, a download). Copying,
 * globbing and the source digest work on either the same way, so the context's cache keys
 * are computed without unpacking it.
 */
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { resolveConfined } from '../common/index.js';

export type NodeKind = 'dir' | 'file' | 'symlink' | 'other';

/** An entry's metadata, as lstat gives it (mode with its type bits, as st_mode). */
export interface SourceNode {
  kind: NodeKind;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (fractional). */
  mtime: number;
  atime: number;
  size: number;
  /** Links to the same file; `id` is the same for all of them. */
  nlink: number;
  id: string;
}

export interface SourceTree {
  /** The entry at `rel` without following a final symlink (ENOENT/ENOTDIR errors as fs). */
  lstat(rel: string): Promise<SourceNode>;
  /** Names in a directory, unsorted. */
  readdir(rel: string): Promise<string[]>;
  readlink(rel: string): Promise<string>;
  /** A regular file's content. */
  read(rel: string): Readable;
}

/** What path resolution needs of a tree (a planned layer answers it too). */
export type Lookup = Pick<SourceTree, 'lstat' | 'readlink'>;

export const joinRel = (a: string, b: string): string =>
  a === '' ? b : b === '' ? a : `${a}/${b}`;

/** A directory on the host as a SourceTree. */
export class DiskTree implements SourceTree {
  constructor(readonly root: string) {}

  hostPath(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  async lstat(rel: string): Promise<SourceNode> {
    return nodeOf(await fsp.lstat(this.hostPath(rel)));
  }

  readdir(rel: string): Promise<string[]> {
    return fsp.readdir(this.hostPath(rel));
  }

  readlink(rel: string): Promise<string> {
    return fsp.readlink(this.hostPath(rel));
  }

  read(rel: string): Readable {
    return createReadStream(this.hostPath(rel));
  }
}

/** A node from a host lstat; `id` tells hard links apart (same id, same inode). */
export function nodeOf(st: Stats, id = `${st.dev}:${st.ino}`): SourceNode {
  return {
    kind: st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : 'other',
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    mtime: st.mtimeMs / 1000,
    atime: st.atimeMs / 1000,
    size: st.size,
    nlink: st.nlink,
    id,
  };
}

/**
 * Resolve `p` inside the tree as the container would see it (containers/resolveInRoot's
 * rules): symlinks, absolute or relative, are followed but never leave the root; missing
 * trailing components are kept as given. Returns a path relative to the root.
 */
export async function resolveInTree(tree: Lookup, p: string): Promise<string> {
  const parts = await resolveConfined(p, async (rel) =>
    (await tree.lstat(rel)).kind === 'symlink' ? tree.readlink(rel) : undefined,
  );
  return parts.join('/');
}

/** The entry `rel` leads to, following every symlink inside the tree (as stat). */
export async function statInTree(tree: Lookup, rel: string): Promise<SourceNode> {
  return tree.lstat(await resolveInTree(tree, rel));
}
