import { createHash, randomBytes } from 'node:crypto';
import {
  constants,
  mkdtempSync,
  promises as fsp,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { afterAll, describe, expect, it } from 'vitest';

import {
  AlignedPool,
  alignedBuffer,
  BLOCK,
  DirectAppender,
  openDirect,
  readBuffersInUse,
  sendDirect,
} from './direct-io.js';

// O_DIRECT is what is under test: a directory on the disk, not a tmpfs (which accepts anything).
const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-direct-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => path.join(dir, `f${n++}`);

describe('aligned buffers', () => {
  it('a pool hands out O_DIRECT-usable buffers, up to its limit, and takes them back', async () => {
    const pool = new AlignedPool(2 * BLOCK, 3, 2);
    const bufs = [pool.take(), pool.take(), pool.take()];
    expect(pool.take()).toBeUndefined();
    expect(pool.inUse).toBe(3);
    const f = file();
    writeFileSync(f, '');
    const fh = (await openDirect(f, constants.O_WRONLY))!;
    try {
      // An unaligned address fails (the filesystem really does direct I/O here)...
      await expect(fh.write(alignedBuffer(3 * BLOCK), 1, BLOCK, 0)).rejects.toThrow(/EINVAL/);
      // ...and every pooled buffer works.
      for (const [i, b] of bufs.entries()) {
        expect(b!.length).toBe(2 * BLOCK);
        b!.fill(i + 1);
        expect((await fh.write(b!, 0, b!.length, i * b!.length)).bytesWritten).toBe(b!.length);
      }
    } finally {
      await fh.close();
    }
    expect(readFileSync(f).equals(Buffer.concat(bufs as Buffer[]))).toBe(true);
    pool.give(bufs[0]!);
    expect(pool.take()).toBe(bufs[0]);
  });
});

describe('DirectAppender', () => {
  it('appends odd-sized pieces across several openings; what it reports stored is the file', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 777);
    const f = file();
    writeFileSync(f, '');
    const seen = createHash('sha256');
    let reported = 0;
    const onStored = (b: Buffer): void => {
      // In order, and exactly the bytes that belong there.
      expect(b.equals(data.subarray(reported, reported + b.length))).toBe(true);
      seen.update(b);
      reported += b.length;
    };
    const stage = alignedBuffer(1024 * 1024 + BLOCK);
    let at = 0;
    // Each round is one request: open at the size so far, append, close.
    for (const pieces of [[1], [BLOCK - 1, 10], [100_000, 1, 524_288], [1024 * 1024], [5, 0, 9]]) {
      const a = (await DirectAppender.open(f, reported, stage, onStored))!;
      expect(a).toBeDefined();
      for (const len of pieces) {
        const bufs = [
          data.subarray(at, at + Math.floor(len / 2)),
          data.subarray(at + Math.floor(len / 2), at + len),
        ];
        await a.append(bufs, len);
        at += len;
        expect(reported).toBeLessThanOrEqual(at);
        expect(at - reported).toBeLessThan(BLOCK); // all but a partial block is in the file
      }
      await a.close();
      expect(reported).toBe(at);
      // The file holds the data, padded with zeros to a whole block.
      const onDisk = readFileSync(f);
      expect(onDisk.length % BLOCK).toBe(0);
      expect(onDisk.subarray(0, at).equals(data.subarray(0, at))).toBe(true);
      expect(onDisk.subarray(at).every((x) => x === 0)).toBe(true);
    }
    const a = (await DirectAppender.open(f, reported, stage, onStored))!;
    for (; at < data.length; at += 1024 * 1024) {
      const piece = data.subarray(at, at + 1024 * 1024);
      await a.append([piece], piece.length);
    }
    await a.close();
    await fsp.truncate(f, reported);
    expect(readFileSync(f).equals(data)).toBe(true);
    expect(seen.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('a write that fails stores nothing', async () => {
    const stored: Buffer[] = [];
    const stage = alignedBuffer(64 * 1024);
    const f = file();
    writeFileSync(f, '');
    // Past ext4's largest file every write fails (EFBIG): appending "at" 16 TiB injects that.
    const end = 2 ** 44;
    const a = (await DirectAppender.open(f, end, stage, (b) => stored.push(b)))!;
    await a.append([Buffer.from('held')], 4); // less than a block: nothing written yet
    await expect(a.append([randomBytes(2 * BLOCK)], 2 * BLOCK)).rejects.toThrow(/EFBIG/);
    expect(stored).toEqual([]);
    await expect(a.close()).rejects.toThrow(/EFBIG/);
    expect(stored).toEqual([]);
  });

  it('refuses an append larger than its stage', async () => {
    const f = file();
    writeFileSync(f, '');
    const a = (await DirectAppender.open(f, 0, alignedBuffer(64 * 1024), () => undefined))!;
    await expect(a.append([Buffer.alloc(64 * 1024)], 64 * 1024 + 1)).rejects.toThrow(RangeError);
    await a.close(); // nothing held: closes without writing
  });
});

/** A sink that copies what it is given (the sender reuses its buffers) and can fail. */
function sink(failAfter = Infinity): { out: Writable; got: () => Buffer } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (bytes >= failAfter) {
        cb(new Error('client went away'));
        return;
      }
      chunks.push(Buffer.from(chunk));
      bytes += chunk.length;
      setImmediate(cb); // a consumer slower than the disk
    },
  });
  return { out, got: () => Buffer.concat(chunks) };
}

describe('sendDirect', () => {
  const data = randomBytes(3 * 1024 * 1024 + 123);
  const f = file();
  writeFileSync(f, data);

  it.each([
    [0, data.length - 1],
    [1, 5000],
    [BLOCK - 1, BLOCK + 1],
    [1024 * 1024 - 1, 2 * 1024 * 1024 + 1],
    [data.length - 10, data.length - 1],
    [12345, 12345],
  ])('bytes %i-%i', async (start, end) => {
    const fh = (await openDirect(f, constants.O_RDONLY))!;
    const { out, got } = sink();
    try {
      expect(await sendDirect(fh, start, end, out)).toBe(true);
    } finally {
      await fh.close();
    }
    expect(got().equals(data.subarray(start, end + 1))).toBe(true);
    expect(readBuffersInUse()).toBe(0);
  });

  it('a consumer that fails mid-way fails the send and frees its buffers', async () => {
    const fh = (await openDirect(f, constants.O_RDONLY))!;
    const { out } = sink(1024 * 1024);
    out.on('error', () => undefined);
    try {
      await expect(sendDirect(fh, 0, data.length - 1, out)).rejects.toThrow();
    } finally {
      await fh.close();
    }
    expect(readBuffersInUse()).toBe(0);
  });

  it('a file shorter than the range is an error, not a short answer', async () => {
    const fh = (await openDirect(f, constants.O_RDONLY))!;
    const { out } = sink();
    try {
      await expect(sendDirect(fh, 0, data.length + 5000, out)).rejects.toThrow(/file ends/);
    } finally {
      await fh.close();
    }
    expect(readBuffersInUse()).toBe(0);
  });
});
