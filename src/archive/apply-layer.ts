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
  const hashed = (async function* () {
    for await (const chunk of stream) {
      hash.update(chunk);
      tarSize += chunk.length;
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
