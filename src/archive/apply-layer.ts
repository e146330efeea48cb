import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';

import { invalidArgument, type Logger } from '../common/index.js';
import type { Digest } from '../oci/index.js';
import { decompressed, type Compression } from './compression.js';
import { LayerSanitizer } from './layer-sanitizer.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-format.js';
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
  let size = 0;
  let entries = 0;
  const clean = (async function* () {
    for await (const { header, body } of readTar(hashed)) {
      entries++;
      for (const out of sanitizer.process(header)) {
        yield encodeHeader(out);
        if (out.type !== 'file') continue;
        size += out.size;
        for await (const chunk of body) yield chunk;
        yield padding(out.size);
      }
    }
    yield END_OF_ARCHIVE;
  })();
  await runExtract(destDir, Readable.from(clean, { objectMode: false }));
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
