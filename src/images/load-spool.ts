/**
 * The entries of an archive being loaded, spooled to a private temp directory: a tar may name
 * its blobs in any order (manifest.json last, as docker writes it), so nothing can be unpacked
 * before the archive was read to its end. Files are stored under numbers, never under their
 * archive names, so a hostile name cannot write outside the directory; names are checked
 * anyway (`..` or absolute paths are refused) and links are resolved inside the archive only.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import { decompressed, readTar } from '../archive/index.js';
import { errorMessage, invalidArgument } from '../common/index.js';
import { cleanArchivePath, resolveLink } from './archive-format.js';

/** Metadata files (manifest.json, index.json, configs, manifests) above this are hostile. */
export const MAX_METADATA_BYTES = 8 << 20;
const MAX_ENTRIES = 100_000;
const MAX_LINK_DEPTH = 16;

export class SpooledArchive {
  private readonly files = new Map<string, string>();
  private readonly links = new Map<string, string>();

  private constructor(private readonly dir: string) {}

  /** Read the whole (optionally gzip/zstd-compressed) tar `src` into `dir`. */
  static async spool(src: AsyncIterable<Buffer>, dir: string): Promise<SpooledArchive> {
    const arc = new SpooledArchive(dir);
    let plain: AsyncIterable<Buffer>;
    try {
      plain = (await decompressed(src)).stream;
    } catch (err) {
      throw invalidArgument(`invalid archive: ${errorMessage(err).replace('layer ', '')}`, err);
    }
    let n = 0;
    try {
      for await (const entry of readTar(plain)) {
        if (++n > MAX_ENTRIES) throw invalidArgument('invalid archive: too many entries');
        const name = cleanArchivePath(entry.header.name);
        const h = entry.header;
        if (name === '') continue;
        if (h.type === 'file') {
          const file = path.join(dir, String(n));
          await pipeline(entry.body, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
          arc.links.delete(name);
          arc.files.set(name, file);
        } else if (h.type === 'symlink') {
          arc.files.delete(name);
          arc.links.set(name, resolveLink(name, h.linkname));
        } else if (h.type === 'link') {
          arc.files.delete(name);
          arc.links.set(name, cleanArchivePath(h.linkname));
        }
        // Directories and special files carry nothing a loader reads.
      }
    } catch (err) {
      if (errorMessage(err).startsWith('invalid archive')) throw err;
      // Tar framing errors ("unexpected EOF in tar archive") say what went wrong already.
      throw invalidArgument(`invalid archive: ${errorMessage(err)}`, err);
    }
    return arc;
  }

  has(name: string): boolean {
    try {
      this.path(name);
      return true;
    } catch {
      return false;
    }
  }

  /** The spooled file holding archive entry `name` (links followed). */
  path(name: string): string {
    let cur = cleanArchivePath(name);
    for (let i = 0; i < MAX_LINK_DEPTH; i++) {
      const file = this.files.get(cur);
      if (file !== undefined) return file;
      const next = this.links.get(cur);
      if (next === undefined) break;
      cur = next;
    }
    throw invalidArgument(`invalid archive: file "${name}" is missing`);
  }

  /** A small file's bytes; refuses files above `MAX_METADATA_BYTES`. */
  async read(name: string): Promise<Buffer> {
    const file = this.path(name);
    const { size } = await fsp.stat(file);
    if (size > MAX_METADATA_BYTES) {
      throw invalidArgument(`invalid archive: ${name} is too large (${size} bytes)`);
    }
    return fsp.readFile(file);
  }

  /** The first bytes of a file (to detect a layer's compression). */
  async head(name: string, n = 8): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(this.path(name), { start: 0, end: n - 1 })) {
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  get root(): string {
    return this.dir;
  }
}
