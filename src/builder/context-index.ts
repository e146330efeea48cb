/**
 * The build context as an index of the client's tar, read as it streams in: path → entry
 * (metadata, and for a file its content digest and where its bytes are). Small files keep
 * their bytes in memory; the rest (past a per-file size or a total budget) are appended to
 * one spill file, so a 200 MB context streams through with little memory. Nothing is
 * unpacked: the cache keys of COPY/ADD are computed from the index, and files are written
 * once, straight into the step's layer, only when a step misses the cache (or, for RUN
 * --mount=type=bind, the whole context is materialised on demand).
 *
 * Entries are checked as a layer's (archive/LayerSanitizer): paths cleaned and confined, no
 * entry through a symlink or a file made earlier, hard links only to earlier entries.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

import { decompressed, LayerSanitizer, readTar, type TarHeader } from '../archive/index.js';
import { invalidArgument, type DockerIgnore } from '../common/index.js';
import { Limiter } from './limit.js';
import { joinRel, type NodeKind, type SourceNode, type SourceTree } from './source-tree.js';

interface FileMeta {
  uid: number;
  gid: number;
  perm: number;
  atime: number;
  mtime: number;
}

const TYPE_BITS: Record<NodeKind, number> = {
  dir: 0o040000,
  file: 0o100000,
  symlink: 0o120000,
  other: 0o020000,
};
/** Files up to this size keep their bytes in memory, while the total stays under the budget. */
const SMALL_FILE = 256 << 10;
const MEMORY_BUDGET = 32 << 20;
const CHUNK = 1 << 20;

interface Inode extends SourceNode {
  linkname?: string;
  body?: Buffer;
  /** Offset of the bytes in the spill file (files not kept in memory). */
  spill?: number;
  /** sha256 of the content (files). */
  digest?: Buffer;
  children?: Map<string, Inode>;
}

const enoent = (rel: string, code = 'ENOENT'): Error =>
  Object.assign(new Error(`${code}: no such file or directory, '${rel}'`), { code });

/** Tar names and link targets are bytes (latin1 strings here); Dockerfiles name them in UTF-8. */
const utf8 = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('utf8');

export class ContextIndex implements SourceTree {
  private readonly root: Inode;
  private nextId = 1;
  private inMemory = 0;
  private spillFh: FileHandle | undefined;
  private spillSize = 0;
  /** Entries and bytes read (for the daemon's debug log). */
  entries = 0;
  spilled = 0;

  private constructor(private readonly spillPath: string) {
    const now = Date.now() / 1000;
    // As the directory the context used to be unpacked into (mkdir 0700 by the daemon).
    this.root = this.inode('dir', 0o700, 0, 0, now);
    this.root.children = new Map();
  }

  /** Read `body` (a tar, maybe gzip-compressed); bytes that do not stay in memory go to `spillPath`. */
  static async read(body: AsyncIterable<Uint8Array>, spillPath: string): Promise<ContextIndex> {
    const index = new ContextIndex(spillPath);
    try {
      const { stream } = await decompressed(body);
      const sanitizer = new LayerSanitizer();
      for await (const { header, body: data } of readTar(stream as AsyncIterable<Buffer>)) {
        index.entries++;
        for (const h of sanitizer.process(header)) await index.add(h, data);
      }
    } catch (err) {
      await index.close();
      throw err;
    } finally {
      // Reads of spilled bytes open their own descriptors.
      await index.spillFh?.close();
      index.spillFh = undefined;
    }
    return index;
  }

  async close(): Promise<void> {
    await this.spillFh?.close().catch(() => undefined);
    this.spillFh = undefined;
    await fsp.rm(this.spillPath, { force: true });
  }

  private inode(kind: NodeKind, perm: number, uid: number, gid: number, mtime: number): Inode {
    return {
      kind,
      mode: TYPE_BITS[kind] | (kind === 'symlink' ? 0o777 : perm & 0o7777),
      uid,
      gid,
      mtime,
      atime: mtime,
      size: 0,
      nlink: 1,
      id: `ctx:${this.nextId++}`,
    };
  }

  private async add(h: TarHeader, data: AsyncIterable<Buffer>): Promise<void> {
    const rel = h.name === '.' ? '' : utf8(h.name);
    const mtime = Number(h.mtime);
    const dirMeta = () => ({
      mode: TYPE_BITS.dir | (h.mode & 0o7777),
      uid: h.uid,
      gid: h.gid,
      mtime,
      atime: mtime,
    });
    if (rel === '') {
      if (h.type !== 'dir')
        throw invalidArgument('invalid build context: the root is not a directory');
      Object.assign(this.root, dirMeta());
      return;
    }
    const parent = this.ensureDir(path.posix.dirname(rel));
    const name = path.posix.basename(rel);
    const existing = parent.children!.get(name);
    if (h.type === 'dir' && existing?.kind === 'dir') {
      // A directory given again (or after its contents): its metadata is the last one's.
      Object.assign(existing, dirMeta());
      return;
    }
    if (existing?.kind === 'dir' && existing.children!.size > 0)
      throw invalidArgument(`invalid build context: "${rel}" replaces a non-empty directory`);
    let node: Inode;
    switch (h.type) {
      case 'dir':
        node = this.inode('dir', h.mode, h.uid, h.gid, mtime);
        node.children = new Map();
        break;
      case 'file':
        node = this.inode('file', h.mode, h.uid, h.gid, mtime);
        await this.readBody(node, h.size, data);
        break;
      case 'symlink':
        node = this.inode('symlink', 0o777, h.uid, h.gid, mtime);
        node.linkname = utf8(h.linkname);
        node.size = Buffer.byteLength(node.linkname);
        break;
      case 'link': {
        // The sanitizer checked that the target is an earlier non-directory entry.
        const target = this.lookup(utf8(h.linkname));
        if (!target || target.kind === 'dir')
          throw invalidArgument(`invalid build context: bad hard link "${rel}"`);
        node = target;
        node.nlink++;
        break;
      }
      default:
        // Devices and fifos (and the sanitizer's whiteouts): kept as entries, never copied.
        node = this.inode('other', h.mode, h.uid, h.gid, mtime);
    }
    if (existing) this.unlinked(existing);
    parent.children!.set(name, node);
  }

  private async readBody(node: Inode, size: number, data: AsyncIterable<Buffer>): Promise<void> {
    const hash = createHash('sha256');
    node.size = size;
    if (size <= SMALL_FILE && this.inMemory + size <= MEMORY_BUDGET) {
      const chunks: Buffer[] = [];
      for await (const chunk of data) {
        hash.update(chunk);
        // Copied: a chunk may be a view of a larger buffer the reader holds.
        chunks.push(Buffer.from(chunk));
      }
      node.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.inMemory += size;
    } else {
      this.spillFh ??= await fsp.open(this.spillPath, 'wx', 0o600);
      node.spill = this.spillSize;
      for await (const chunk of data) {
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await this.spillFh.write(
            chunk,
            off,
            chunk.length - off,
            this.spillSize,
          );
          off += bytesWritten;
          this.spillSize += bytesWritten;
        }
      }
      this.spilled += size;
    }
    node.digest = hash.digest();
  }

  /** A link to `node` went (replaced or ignored); a directory takes its whole subtree. */
  private unlinked(node: Inode): void {
    node.nlink--;
    if (node.children) for (const c of node.children.values()) this.unlinked(c);
  }

  /** The directory `rel`, its missing parents made as GNU tar made them (0755, root, now). */
  private ensureDir(rel: string): Inode {
    let cur = this.root;
    if (rel === '.' || rel === '') return cur;
    for (const part of rel.split('/')) {
      let next = cur.children!.get(part);
      if (!next) {
        next = this.inode('dir', 0o755, 0, 0, Date.now() / 1000);
        next.children = new Map();
        cur.children!.set(part, next);
      } else if (next.kind !== 'dir') {
        // The sanitizer refuses entries under a file or symlink; this is the same rule.
        throw invalidArgument(`invalid build context: parent of "${rel}" is not a directory`);
      }
      cur = next;
    }
    return cur;
  }

  /** The entry at `rel`, parents taken literally (no symlinks followed). */
  private lookup(rel: string): Inode | undefined {
    let cur: Inode | undefined = this.root;
    if (rel === '') return cur;
    for (const part of rel.split('/')) {
      if (part === '' || part === '.') continue;
      if (!cur?.children) return undefined;
      cur = cur.children.get(part);
    }
    return cur;
  }

  private get(rel: string): Inode {
    let cur: Inode | undefined = this.root;
    if (rel === '') return cur;
    for (const part of rel.split('/')) {
      if (part === '' || part === '.') continue;
      if (cur.kind !== 'dir') throw enoent(rel, 'ENOTDIR');
      cur = cur.children!.get(part);
      if (!cur) throw enoent(rel);
    }
    return cur;
  }

  // SourceTree

  lstat(rel: string): Promise<SourceNode> {
    try {
      return Promise.resolve(this.get(rel));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async readdir(rel: string): Promise<string[]> {
    const n = this.get(rel);
    if (!n.children) throw enoent(rel, 'ENOTDIR');
    return [...n.children.keys()];
  }

  async readlink(rel: string): Promise<string> {
    const n = this.get(rel);
    if (n.linkname === undefined)
      throw Object.assign(new Error(`EINVAL: ${rel}`), { code: 'EINVAL' });
    return n.linkname;
  }

  /** The sha256 of a file's content, known since it was read. */
  contentDigest(rel: string): Buffer | undefined {
    return this.get(rel).digest;
  }

  read(rel: string): Readable {
    const n = this.get(rel);
    if (n.body) return Readable.from([n.body]);
    if (n.size === 0 || n.spill === undefined) return Readable.from([]);
    return createReadStream(this.spillPath, { start: n.spill, end: n.spill + n.size - 1 });
  }

  /** One open, write, fchown, fchmod, futimes, close: no path lookups after the open. */
  private async writeFile(n: Inode, dst: string, meta: FileMeta): Promise<void> {
    const fh = await fsp.open(dst, 'wx', 0o600);
    try {
      await this.writeInto(n, fh);
      await fh.chown(meta.uid, meta.gid);
      await fh.chmod(meta.perm);
      await fh.utimes(meta.atime, meta.mtime);
    } finally {
      await fh.close();
    }
  }

  /** Write a file's bytes into `fh` (a new empty file). */
  private async writeInto(n: Inode, fh: FileHandle): Promise<void> {
    if (n.body) {
      await writeAll(fh, n.body);
      return;
    }
    if (n.size === 0 || n.spill === undefined) return;
    const src = await fsp.open(this.spillPath, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, n.size));
      for (let done = 0; done < n.size;) {
        const { bytesRead } = await src.read(
          buf,
          0,
          Math.min(buf.length, n.size - done),
          n.spill + done,
        );
        if (bytesRead === 0) throw new Error('build context spill file is truncated');
        await writeAll(fh, buf.subarray(0, bytesRead));
        done += bytesRead;
      }
    } finally {
      await src.close();
    }
  }

  /** A file's content as text (the Dockerfile, .dockerignore). */
  async text(rel: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of this.read(rel)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Remove what .dockerignore excludes, as dockerd walks an unpacked context: an excluded
   * entry goes with all below it, except a directory that an exception may bring files back
   * under, which is walked and goes only if it ends up empty.
   */
  applyIgnore(ignore: DockerIgnore): void {
    const walk = (dir: Inode, rel: string): void => {
      for (const [name, node] of [...dir.children!]) {
        const child = joinRel(rel, name);
        if (ignore.excludes(child)) {
          if (node.kind === 'dir' && ignore.mayIncludeUnder(child)) {
            walk(node, child);
            if (node.children!.size === 0) dir.children!.delete(name);
          } else {
            dir.children!.delete(name);
            this.unlinked(node);
          }
        } else if (node.kind === 'dir') walk(node, child);
      }
    };
    walk(this.root, '');
  }

  /**
   * Write the whole context under `dir` (made 0700), as unpacking it did: for RUN
   * --mount=type=bind, which needs a directory. Hard links stay links; devices are left out.
   */
  async materialize(dir: string): Promise<void> {
    const io = new Limiter(16);
    const first = new Map<string, Promise<string>>();
    await fsp.mkdir(dir, { mode: 0o700 });
    const write = async (n: Inode, host: string): Promise<void> => {
      if (n.kind === 'dir') {
        if (n !== this.root) await fsp.mkdir(host);
        await Promise.all([...n.children!].map(([name, c]) => write(c, path.join(host, name))));
        await fsp.lchown(host, n.uid, n.gid);
        await fsp.chmod(host, n.mode & 0o7777);
        await fsp.utimes(host, n.atime, n.mtime);
        return;
      }
      if (n.kind === 'symlink') {
        await fsp.symlink(n.linkname!, host);
        await fsp.lchown(host, n.uid, n.gid);
        await fsp.lutimes(host, n.atime, n.mtime);
        return;
      }
      if (n.kind !== 'file') return;
      const earlier = n.nlink > 1 ? first.get(n.id) : undefined;
      if (earlier) {
        await io.run(async () => fsp.link(await earlier, host));
        return;
      }
      const done = io.run(async () => {
        const meta = {
          uid: n.uid,
          gid: n.gid,
          perm: n.mode & 0o7777,
          atime: n.atime,
          mtime: n.mtime,
        };
        await this.writeFile(n, host, meta);
        return host;
      });
      if (n.nlink > 1) first.set(n.id, done);
      await done;
    };
    await write(this.root, dir);
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length;) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}
