import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { compressed, decompressed, detectCompression } from './compression.js';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}

describe('compression', () => {
  const data = Buffer.from('layer bytes '.repeat(10_000));

  it('detects by magic bytes', () => {
    expect(detectCompression(gzipSync(data))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe('zstd');
    expect(detectCompression(data)).toBe('none');
  });

  it('passes plain data through and gunzips gzip', async () => {
    for (const input of [data, gzipSync(data)]) {
      const { stream } = await decompressed(Readable.from([input]));
      expect((await collect(stream)).equals(data)).toBe(true);
    }
  });

  it.skipIf(!hasZstd)('round-trips zstd through the zstd program', async () => {
    const z = await collect(compressed(Readable.from([data]), 'zstd'));
    expect(detectCompression(z)).toBe('zstd');
    expect(z.length).toBeLessThan(data.length / 10);
    const { stream, compression } = await decompressed(Readable.from([z]));
    expect(compression).toBe('zstd');
    expect((await collect(stream)).equals(data)).toBe(true);
  });

  it.skipIf(!hasZstd)(
    "fails a corrupt or truncated zstd stream with the program's message",
    async () => {
      const z = await collect(compressed(Readable.from([data]), 'zstd'));
      const truncated = z.subarray(0, z.length - 20);
      const { stream } = await decompressed(Readable.from([truncated]));
      await expect(collect(stream)).rejects.toThrow(/zstd/);
      const garbage = Buffer.concat([z.subarray(0, 4), Buffer.alloc(1000, 7)]);
      const bad = await decompressed(Readable.from([garbage]));
      await expect(collect(bad.stream)).rejects.toThrow(/zstd/);
    },
  );
});
