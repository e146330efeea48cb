import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { invalidArgument, type Logger } from '../common/index.js';
import type { Digest } from '../oci/index.js';
import { decompressed, type Compression } from './compression.js';
import { LayerSanitizer } from './layer-sanitizer.js';
import {
  displayName,
  END_OF_ARCHIVE,
  encodeHeader,
  padding,
  type TarHeader,
} from './tar-format.js';
import { readTar } from './tar-reader.js';
import { runExtract } from './gnu-tar.js';

export interface AppliedLayer {
  /** sha256 of the uncompressed tar stream, every byte of it. */
  diffID: Digest;
  /** Bytes of regular-file content the layer holds (what Docker reports as its size). */
  size: number;
  /** Length of the uncompressed tar stream. */
  tarSize: number;
  compression: Compression;
}

/**
 * Apply a layer tar (plain or gzip) into `destDir`, which must exist and be empty. Entries
 * are checked one by one (see LayerSanitizer) and re-emitted as a clean tar into GNU tar, so
 * nothing is ever written or read outside `destDir`. On error `destDir` holds a partial
 * layer: the caller discards it.
 */
export async function applyLayer(
  src: AsyncIterable<Uint8Array>,
  destDir: string,
  opts: { logger?: Logger } = {},
): Promise<AppliedLayer> {
  // Start reading at once (see ContentStore.ingest): the source's errors need a listener.
  const input = decompressed(src);
  input.catch(() => {}); // awaited below
  const existing = await fsp.readdir(destDir);
  if (existing.length > 0) throw invalidArgument(`applyLayer: ${destDir} is not empty`);
  const { stream, compression } = await input;
  const hash = createHash('sha256');
  let tarSize = 0;
  const room = new DiskRoom(destDir);
  const hashed = (async function* () {
    for await (const chunk of stream) {
      hash.update(chunk);
      tarSize += chunk.length;
      if (tarSize >= room.nextCheck) await room.check(tarSize);
      yield chunk as Buffer;
    }
  })();
  const sanitizer = new LayerSanitizer();
  const stage = new BodyStage(destDir);
  let size = 0;
  let entries = 0;
  const clean = (async function* () {
    for await (const { header, body } of readTar(hashed)) {
      entries++;
      for (const out of sanitizer.process(header)) {
        stage.refuseClash(out);
        if (out.type !== 'file') {
          yield encodeHeader(out);
          continue;
        }
        size += out.size;
        if (BodyStage.takes(out)) {
          // The body goes to disk from here; tar only links it into place.
          yield encodeHeader(await stage.write(out, body));
          continue;
        }
        yield encodeHeader(out);
        for await (const chunk of body) yield chunk;
        yield padding(out.size);
      }
    }
    yield END_OF_ARCHIVE;
  })();
  try {
    await runExtract(destDir, Readable.from(clean, { objectMode: false }));
    await stage.finish();
  } finally {
    await stage.close();
  }
  if (entries === 0 && tarSize === 0) throw invalidArgument('invalid layer: empty archive');
  if (sanitizer.droppedXattrs > 0) {
    opts.logger?.warn(
      { count: sanitizer.droppedXattrs },
      'layer carried trusted.overlay.* xattrs; dropped',
    );
  }
  return { diffID: `sha256:${hash.digest('hex')}`, size, tarSize, compression };
}

/**
 * Free space kept while a layer unpacks. A gzip bomb (a few MB that inflate to terabytes of
 * zeros) or just a layer larger than the disk would otherwise fill the filesystem the daemon
 * keeps its state on before failing. The unpack stops with a clear error once what is left
 * falls under a reserve (5% of the filesystem, at most 1 GiB); statfs is asked again after
 * half the remaining headroom (1 to 64 MiB) has streamed through.
 */
class DiskRoom {
  nextCheck = 0;

  constructor(private readonly dir: string) {}

  async check(tarSize: number): Promise<void> {
    const st = await fsp.statfs(this.dir);
    const avail = st.bavail * st.bsize;
    const reserve = Math.min(1 << 30, (st.blocks * st.bsize) / 20);
    if (avail < reserve) {
      throw invalidArgument(
        `layer too large: unpacking it would fill the disk (${tarSize} bytes unpacked so far, ` +
          `${avail} bytes left)`,
      );
    }
    this.nextCheck = tarSize + Math.min(64 << 20, Math.max(1 << 20, (avail - reserve) / 2));
  }
}

/**
 * Large regular files of a layer are written by the daemon itself instead of through GNU
 * tar's stdin: each body would otherwise cross a socket into tar and be copied again by tar
 * into the file (on a pull, most of the daemon's CPU time went to those socket writes). The
 * body is written into a private staging directory inside the layer, given the entry's owner,
 * mode and mtime through its descriptor, and tar receives a hard link entry in its place, so
 * it creates the path (parents, duplicates, later hard links to it) exactly as before. The
 * staging names are removed once tar has finished, which leaves the entry's path as the file's
 * only name. Entries with xattrs (security.capability among them, which a write after tar set
 * it would clear) or a fractional mtime stay on the tar path.
 */
class BodyStage {
  /** Bodies from this size up are staged; smaller ones cost less through tar. */
  static readonly MIN_SIZE = 256 * 1024;
  /** Relative to the layer; a random name no legitimate layer uses (refused if one does). */
  private readonly name = `.wharf-stage-${randomBytes(8).toString('hex')}`;
  private dirReady: Promise<void> | undefined;
  private count = 0;
  private open: fsp.FileHandle | undefined;

  constructor(private readonly destDir: string) {}

  static takes(h: TarHeader): boolean {
    return h.size >= BodyStage.MIN_SIZE && h.xattrs.size === 0 && /^\d+$/.test(h.mtime);
  }

  refuseClash(h: TarHeader): void {
    for (const p of [h.name, h.type === 'link' ? h.linkname : '']) {
      if (p === this.name || p.startsWith(`${this.name}/`)) {
        throw invalidArgument(`invalid layer: reserved path "${displayName(p)}"`);
      }
    }
  }

  /** Write the body to a staged file with the entry's metadata; the header tar gets instead. */
  async write(h: TarHeader, body: AsyncIterable<Buffer>): Promise<TarHeader> {
    this.dirReady ??= fsp.mkdir(path.join(this.destDir, this.name), { mode: 0o700 });
    await this.dirReady;
    const rel = `${this.name}/${this.count++}`;
    const fh = await fsp.open(
      path.join(this.destDir, rel),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    this.open = fh;
    let written = 0;
    for await (const chunk of body) {
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
      written += chunk.length;
    }
    if (written !== h.size) throw invalidArgument('invalid layer: truncated file body');
    // chown first: it clears set-id bits that chmod then sets.
    await fh.chown(h.uid, h.gid);
    await fh.chmod(h.mode & 0o7777);
    const mtime = Number(h.mtime);
    await fh.utimes(mtime, mtime);
    this.open = undefined;
    await fh.close();
    return { ...h, type: 'link', linkname: rel, size: 0 };
  }

  /** Drop the staging names, keeping the layer root's times as tar left them. */
  async finish(): Promise<void> {
    if (this.dirReady === undefined) return;
    const root = await fsp.stat(this.destDir, { bigint: true });
    await fsp.rm(path.join(this.destDir, this.name), { recursive: true, force: true });
    await fsp.utimes(this.destDir, nsToSeconds(root.atimeNs), nsToSeconds(root.mtimeNs));
  }

  async close(): Promise<void> {
    await this.open?.close().catch(() => undefined);
    this.open = undefined;
  }
}

function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}
