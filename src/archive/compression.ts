import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { invalidArgument } from '../common/index.js';

export type Compression = 'none' | 'gzip';

/** Identify a stream by its first bytes (gzip 1f 8b; others recognised to be refused clearly). */
export function detectCompression(head: Buffer): Compression | 'bzip2' | 'xz' | 'zstd' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return 'none';
}

/** The uncompressed bytes of `src`, whatever (supported) compression it came with. */
export async function decompressed(
  src: AsyncIterable<Uint8Array>,
): Promise<{ stream: AsyncIterable<Buffer>; compression: Compression }> {
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 6) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, r.value]);
  }
  const raw = (async function* () {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
  })();
  const kind = detectCompression(head);
  if (kind === 'none') return { stream: raw, compression: 'none' };
  if (kind !== 'gzip') throw invalidArgument(`unsupported layer compression: ${kind}`);
  const gunzip = createGunzip();
  const input = Readable.from(raw);
  input.on('error', (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  return { stream: gunzip, compression: 'gzip' };
}
