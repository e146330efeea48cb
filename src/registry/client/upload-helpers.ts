/** Small helpers of blob uploads. */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';

import type { Digest } from '../../oci/index.js';
import { registryError } from './errors.js';

export function withDigest(location: string, digest: Digest): string {
  return location + (location.includes('?') ? '&' : '?') + `digest=${encodeURIComponent(digest)}`;
}

export async function expectStatus(
  res: IncomingMessage,
  ok: number[],
  what: string,
): Promise<void> {
  if (ok.includes(res.statusCode ?? 0)) {
    res.resume();
    return;
  }
  throw await registryError(res, what);
}

export function counted(src: Readable, onProgress?: (n: number) => void): Readable {
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      onProgress?.(n);
      cb(null, chunk);
    },
  });
  src.on('error', (e) => t.destroy(e));
  return src.pipe(t);
}

/** Regroup a stream into buffers of `size` bytes (the last may be shorter). */
export async function* chunks(src: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let len = 0;
  for await (const c of src) {
    let buf = c;
    while (len + buf.length >= size) {
      const take = size - len;
      parts.push(buf.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      len = 0;
      buf = buf.subarray(take);
    }
    if (buf.length) {
      parts.push(buf);
      len += buf.length;
    }
  }
  if (len > 0) yield Buffer.concat(parts);
}
