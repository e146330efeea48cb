import { appendFile, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { formatLogLine } from './parse.js';
import { readLogs, type LogEntry, type ReadLogsOptions } from './reader.js';
import { LogRotator } from './rotate.js';

const T0 = 1_700_000_000n * 1_000_000_000n;
const line = (i: number, stream: 'stdout' | 'stderr' = 'stdout', partial = false): Buffer =>
  formatLogLine({
    ns: T0 + BigInt(i) * 1_000_000n,
    stream,
    content: Buffer.from(`line ${i}`),
    partial,
  });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'wharf-logs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function opts(over: Partial<ReadLogsOptions> = {}): ReadLogsOptions {
  return {
    follow: false,
    stdout: true,
    stderr: true,
    timestamps: false,
    stopped: () => true,
    signal: new AbortController().signal,
    ...over,
  };
}

async function collect(files: string[], o: ReadLogsOptions): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(files, o)) out.push(e);
  return out;
}
const text = (es: LogEntry[]): string => es.map((e) => e.data.toString()).join('');

describe('readLogs (history)', () => {
  it('reads rotated files then the current one, reassembling partial lines', async () => {
    const f = path.join(dir, 'ctr.log');
    await writeFile(`${f}.1`, Buffer.concat([line(0), line(1)]));
    await writeFile(
      f,
      Buffer.concat([
        line(2, 'stdout', true),
        line(3, 'stderr'),
        line(4),
        Buffer.from('2024-01-02T03:04:05Z stdout F torn'), // being written: no newline yet
      ]),
    );
    const es = await collect([`${f}.1`, f], opts());
    expect(text(es)).toBe('line 0\nline 1\nline 2line 3\nline 4\n');
    expect(es.map((e) => e.stream)).toEqual(['stdout', 'stdout', 'stdout', 'stderr', 'stdout']);
    expect(es[0]!.time).toBe('2023-11-14T22:13:20Z');
    expect(es[1]!.time).toBe('2023-11-14T22:13:20.001Z');
    expect(text(await collect([`${f}.1`, f], opts({ stderr: false })))).toBe(
      'line 0\nline 1\nline 2line 4\n',
    );
    const ts = await collect([f], opts({ timestamps: true, stdout: false }));
    expect(text(ts)).toBe('2023-11-14T22:13:20.003000000Z line 3\n');
  });

  it('since and until (inclusive; reading stops after until)', async () => {
    const f = path.join(dir, 'ctr.log');
    await writeFile(f, Buffer.concat(Array.from({ length: 10 }, (_, i) => line(i))));
    const s = (i: number): number => 1_700_000_000 + i / 1000;
    expect(text(await collect([f], opts({ since: s(7) })))).toBe('line 7\nline 8\nline 9\n');
    expect(text(await collect([f], opts({ until: s(1) })))).toBe('line 0\nline 1\n');
    expect(text(await collect([f], opts({ since: s(3), until: s(4) })))).toBe('line 3\nline 4\n');
  });

  it('tail counts lines across files, partial records included in their line', async () => {
    const f = path.join(dir, 'ctr.log');
    await writeFile(`${f}.2`, Buffer.concat([line(0), line(1)]));
    await writeFile(`${f}.1`, Buffer.concat([line(2)]));
    await writeFile(
      f,
      Buffer.concat([line(3, 'stdout', true), line(4), line(5, 'stderr'), line(6, 'stdout', true)]),
    );
    const files = [`${f}.2`, `${f}.1`, f];
    expect(text(await collect(files, opts({ tail: 1 })))).toBe('line 6');
    expect(text(await collect(files, opts({ tail: 2 })))).toBe('line 5\nline 6');
    expect(text(await collect(files, opts({ tail: 3 })))).toBe('line 3line 4\nline 5\nline 6');
    expect(text(await collect(files, opts({ tail: 4 })))).toBe(
      'line 2\nline 3line 4\nline 5\nline 6',
    );
    expect(text(await collect(files, opts({ tail: 5 })))).toContain('line 1\nline 2');
    expect(text(await collect(files, opts({ tail: 100 })))).toMatch(/^line 0\n/);
    expect(await collect(files, opts({ tail: 0 }))).toEqual([]);
    expect(text(await collect(files, opts({ tail: 'all' })))).toMatch(/^line 0\n.*line 6$/s);
    expect(await collect([path.join(dir, 'missing.log')], opts({ tail: 3 }))).toEqual([]);
  });

  it('tail of a 100 MB file reads only its end', async () => {
    const f = path.join(dir, 'big.log');
    const fh = await open(f, 'w');
    const block = Buffer.concat(Array.from({ length: 2000 }, (_, i) => line(i)));
    const copies = Math.ceil((100 * 1024 * 1024) / block.length);
    for (let i = 0; i < copies; i++) await fh.write(block);
    // One long line (3 blocks of the backward scan) and a torn record at the end.
    await fh.write(
      formatLogLine({ ns: T0, stream: 'stdout', content: Buffer.alloc(200_000, 'x') }),
    );
    await fh.write(line(77777));
    await fh.write(Buffer.from('2024-01-02T03:04:05Z stdout F tor'));
    await fh.close();
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    const es = await collect([f], opts({ tail: 3 }));
    const ms = performance.now() - t0;
    expect(es.map((e) => e.data.length)).toEqual([10, 200_001, 11]);
    expect(es[2]!.data.toString()).toBe('line 77777\n');
    expect(ms).toBeLessThan(500);
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  }, 60_000);
});

/** Appends records in batches from a timer while the reader runs. */
async function writeLines(file: string, from: number, to: number, batch: number): Promise<void> {
  for (let i = from; i < to; i += batch) {
    const chunk = [];
    for (let j = i; j < Math.min(to, i + batch); j++) chunk.push(line(j));
    await appendFile(file, Buffer.concat(chunk));
    if ((i / batch) % 8 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe('readLogs (follow)', () => {
  it('follows appends, including a record torn across writes, until stopped and drained', async () => {
    const f = path.join(dir, 'ctr.log');
    await writeFile(f, line(0));
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs([f], opts({ follow: true, stopped: () => stopped }))) {
        got.push(e.data.toString());
      }
    })();
    const rec = line(1);
    await appendFile(f, rec.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 30));
    await appendFile(f, rec.subarray(10));
    await writeLines(f, 2, 1000, 50);
    stop();
    await reading;
    expect(got).toHaveLength(1000);
    expect(got.every((s, i) => s === `line ${i}\n`)).toBe(true);
  });

  it('polled stopped() callback ends the stream; abort ends it too', async () => {
    const f = path.join(dir, 'ctr.log');
    await writeFile(f, line(0));
    let isStopped = false;
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(
        [f],
        opts({ follow: true, pollMs: 20, stopped: () => isStopped }),
      )) {
        got.push(e.data.toString());
      }
    })();
    await appendFile(f, line(1));
    isStopped = true;
    await reading;
    expect(got).toEqual(['line 0\n', 'line 1\n']);

    const ac = new AbortController();
    const never = new Promise<void>(() => undefined);
    const aborted = collect([f], opts({ follow: true, signal: ac.signal, stopped: () => never }));
    setTimeout(() => ac.abort(), 30);
    expect(await aborted).toHaveLength(2);
  });

  it('survives rotation mid-stream without losing or reordering lines', async () => {
    const f = path.join(dir, 'ctr.log');
    await writeFile(f, '');
    const rot = new LogRotator({
      file: f,
      maxSize: 20_000,
      maxFile: 3,
      reopen: async () => {
        await writeFile(f, '', { flag: 'wx' });
      },
    });
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(
        await rot.files(),
        opts({ follow: true, stopped: () => stopped }),
      )) {
        got.push(e.data.toString());
      }
    })();
    let rotations = 0;
    for (let i = 0; i < 20_000; i += 100) {
      await writeLines(f, i, i + 100, 100);
      if (await rot.check()) rotations++;
      await new Promise((r) => setImmediate(r));
    }
    stop();
    await reading;
    expect(rotations).toBeGreaterThan(20);
    expect(got).toHaveLength(20_000);
    expect(got.every((s, i) => s === `line ${i}\n`)).toBe(true);
  }, 30_000);

  it('200,000-line burst arrives complete and in order', async () => {
    const f = path.join(dir, 'ctr.log');
    await writeFile(f, '');
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    let n = 0;
    let ordered = true;
    const reading = (async () => {
      for await (const e of readLogs([f], opts({ follow: true, stopped: () => stopped }))) {
        if (e.data.toString() !== `line ${n}\n`) ordered = false;
        n++;
      }
    })();
    await writeLines(f, 0, 200_000, 2000);
    stop();
    await reading;
    expect(n).toBe(200_000);
    expect(ordered).toBe(true);
  }, 60_000);

  it('waits for a current file that does not exist yet', async () => {
    const f = path.join(dir, 'ctr.log');
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const reading = collect([f], opts({ follow: true, pollMs: 20, stopped: () => stopped }));
    await new Promise((r) => setTimeout(r, 30));
    await writeFile(`${f}.tmp`, Buffer.concat([line(0), line(1)]));
    await rename(`${f}.tmp`, f);
    await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(text(await reading)).toBe('line 0\nline 1\n');
  });
});
