import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { LogRotator, parseHumanSize, parseLogOpts } from './rotate.js';

describe('parseLogOpts', () => {
  it('defaults to 5 files of 20 MB for file drivers', () => {
    expect(parseLogOpts('json-file', {})).toEqual({
      driver: 'json-file',
      maxSize: 20 * 1024 * 1024,
      maxFile: 5,
      compress: false,
    });
    expect(parseLogOpts(undefined, undefined).driver).toBe('json-file');
    expect(parseLogOpts('local', {})).toMatchObject({ maxFile: 5, compress: true });
    expect(parseLogOpts('none', { anything: 'goes' }).driver).toBe('none');
  });

  it('reads docker sizes (decimal, as dockerd) and counts', () => {
    expect(parseLogOpts('json-file', { 'max-size': '10m', 'max-file': '3' })).toMatchObject({
      maxSize: 10_000_000,
      maxFile: 3,
    });
    expect(parseLogOpts('local', { 'max-size': '1g' }).maxSize).toBe(1e9);
    expect(parseLogOpts('json-file', { 'max-size': '512k', labels: 'a', tag: 't' }).maxSize).toBe(
      512_000,
    );
  });

  it.each([
    ['json-file', { foo: '1' }, "unknown log opt 'foo' for json-file log driver"],
    ['local', { foo: '1' }, "unknown log opt 'foo' for log driver local"],
    ['syslog', {}, "logger: no log driver named 'syslog' is registered"],
    ['json-file', { 'max-size': '0' }, 'max-size must be a positive number'],
    ['json-file', { 'max-size': '10q' }, "invalid suffix: 'q'"],
    ['json-file', { 'max-file': '0' }, 'max-file cannot be less than 1'],
    ['json-file', { 'max-file': 'x' }, 'strconv.Atoi: parsing "x": invalid syntax'],
    [
      'json-file',
      { 'max-file': '1', compress: 'true' },
      'compress cannot be true when max-file is less than 2 or max-size is not set',
    ],
    ['local', { 'max-file': '1' }, 'compression cannot be enabled when max file count is 1'],
    ['local', { 'max-size': 'abc' }, "invalid value for max-size: abc: invalid size: 'abc'"],
    ['json-file', { mode: 'fast' }, 'logger: logging mode not supported: fast'],
    [
      'json-file',
      { 'max-buffer-size': '4m' },
      "logger: max-buffer-size option is only supported with 'mode=non-blocking'",
    ],
  ])('%s %j → %s', (driver, o, msg) => {
    expect(() => parseLogOpts(driver, o as Record<string, string>)).toThrow(msg);
  });

  it('parseHumanSize', () => {
    expect(parseHumanSize('32')).toBe(32);
    expect(parseHumanSize('32b')).toBe(32);
    expect(parseHumanSize('1.5k')).toBe(1500);
    expect(parseHumanSize('10 MB')).toBe(10_000_000);
    expect(parseHumanSize('1KiB', 1024)).toBe(1024);
    expect(() => parseHumanSize('-1')).toThrow("invalid size: '-1'");
    expect(() => parseHumanSize('1kbb')).toThrow('invalid suffix');
  });
});

describe('LogRotator', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'wharf-rot-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renames file → .1 → .2, drops beyond maxFile, reopens, lists oldest first', async () => {
    const f = path.join(dir, 'ctr.log');
    let reopens = 0;
    const rot = new LogRotator({
      file: f,
      maxSize: 10,
      maxFile: 3,
      reopen: async () => {
        reopens++;
        await writeFile(f, '');
      },
    });
    await writeFile(f, 'short');
    expect(await rot.check()).toBe(false);
    for (const gen of ['gen-one....', 'gen-two....', 'gen-three..']) {
      await writeFile(f, gen);
      expect(await rot.check()).toBe(true);
    }
    expect(reopens).toBe(3);
    expect(await rot.files()).toEqual([`${f}.2`, `${f}.1`, f]);
    expect(await readFile(`${f}.2`, 'utf8')).toBe('gen-two....');
    expect(await readFile(`${f}.1`, 'utf8')).toBe('gen-three..');
    expect(await readFile(f, 'utf8')).toBe('');
  });

  it('maxFile 1 drops old content; concurrent checks rotate once', async () => {
    const f = path.join(dir, 'ctr.log');
    const rot = new LogRotator({ file: f, maxSize: 4, maxFile: 1, reopen: () => writeFile(f, '') });
    await writeFile(f, 'abcdef');
    const results = await Promise.all([rot.check(), rot.check(), rot.check()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await rot.files()).toEqual([f]);
  });

  it('a failed reopen is retried by the next check', async () => {
    const f = path.join(dir, 'ctr.log');
    let fail = true;
    const rot = new LogRotator({
      file: f,
      maxSize: 4,
      maxFile: 2,
      reopen: async () => {
        if (fail) throw new Error('conmon gone');
        await writeFile(f, '');
      },
    });
    await writeFile(f, 'abcdef');
    await expect(rot.check()).rejects.toThrow('reopening log file');
    fail = false;
    expect(await rot.check()).toBe(false);
    expect(await rot.files()).toEqual([`${f}.1`, f]);
  });

  it('watching: a write during a rotation gets a check of its own once that rotation ends', async () => {
    const f = path.join(dir, 'ctr.log');
    let reopens = 0;
    const rot = new LogRotator({
      file: f,
      maxSize: 20,
      maxFile: 3,
      // A slow writer: the new file appears (and fills) while the daemon waits on reopen.
      reopen: async () => {
        reopens++;
        if (reopens === 1) await writeFile(f, 'x'.repeat(30));
        await new Promise((r) => setTimeout(r, 100));
      },
    });
    rot.watch();
    try {
      await writeFile(f, 'y'.repeat(30));
      // The first rotation, then one more for the file written during its reopen, with no
      // write after it to wake the watcher.
      const deadline = Date.now() + 3000;
      while (reopens < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(reopens).toBe(2);
      expect(await readFile(`${f}.1`, 'utf8')).toBe('x'.repeat(30));
      expect(await readFile(`${f}.2`, 'utf8')).toBe('y'.repeat(30));
    } finally {
      rot.unwatch();
    }
  });
});
