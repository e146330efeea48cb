import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../common/index.js';

import { releaseSpecFifo, SpecFifos, writeToFifo } from './spec-fifo.js';

const log = silentLogger();
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'spec-fifo-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A process reading `file` to its end into `out`; resolves with its exit code. */
function reader(file: string, out: string, delayS = 0): Promise<number | null> {
  const p = spawn('sh', ['-c', `sleep ${delayS}; cat "$1" > "$2"`, 'sh', file, out]);
  return new Promise((resolve) => p.on('exit', (code) => resolve(code)));
}

describe('SpecFifos', () => {
  it('hands out nothing before its first batch, then FIFOs opened read-write', async () => {
    const fifos = new SpecFifos(path.join(dir, 'spares'), log);
    expect(await fifos.take(path.join(dir, 'a.json'))).toBeUndefined();
    await fifos.init();
    for (const name of ['b.json', 'c.json', 'd.json', 'e.json', 'f.json', 'g.json']) {
      const fh = await fifos.take(path.join(dir, name));
      expect(fh).toBeDefined();
      expect(statSync(path.join(dir, name)).isFIFO()).toBe(true);
      await fh!.close();
    }
    fifos.close();
  });

  it('init removes the spares a previous daemon left', async () => {
    const spares = path.join(dir, 'spares');
    const first = new SpecFifos(spares, log);
    await first.init();
    writeFileSync(path.join(spares, 'stale'), '');
    await new SpecFifos(spares, log).init();
    expect(() => statSync(path.join(spares, 'stale'))).toThrow();
  });
});

describe('writeToFifo', () => {
  it('delivers a spec larger than the pipe to a reader that comes late', async () => {
    const fifos = new SpecFifos(path.join(dir, 'spares'), log);
    await fifos.init();
    const file = path.join(dir, 'config.json');
    const fh = (await fifos.take(file))!;
    const data = Buffer.from(JSON.stringify({ names: Array.from({ length: 40000 }, (_, i) => i) }));
    expect(data.length).toBeGreaterThan(200_000);
    const read = reader(file, path.join(dir, 'out'), 0.2);
    await writeToFifo(fh, data, new Promise(() => undefined));
    await fh.close();
    expect(await read).toBe(0);
    expect(readFileSync(path.join(dir, 'out')).equals(data)).toBe(true);
  });

  it('gives up on a full pipe once the reader cannot be coming', async () => {
    const fifos = new SpecFifos(path.join(dir, 'spares'), log);
    await fifos.init();
    const fh = (await fifos.take(path.join(dir, 'config.json')))!;
    const gone = new Promise((resolve) => setTimeout(resolve, 50));
    await expect(writeToFifo(fh, Buffer.alloc(1 << 20, 1), gone)).rejects.toThrow(
      /stopped reading/,
    );
    await fh.close();
  });
});

describe('releaseSpecFifo', () => {
  it('ends a reader blocked opening a FIFO nobody writes, and removes it', async () => {
    const file = path.join(dir, 'config.json');
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    const read = reader(file, path.join(dir, 'out'));
    await new Promise((r) => setTimeout(r, 100)); // cat is now blocked in open(2)
    expect(await releaseSpecFifo(file)).toBe(true);
    expect(await read).toBe(0);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe('');
    expect(() => statSync(file)).toThrow();
  });

  it('removes a FIFO nobody waits on, and leaves files alone', async () => {
    const fifo = path.join(dir, 'fifo.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(await releaseSpecFifo(fifo)).toBe(true);
    expect(() => statSync(fifo)).toThrow();
    const file = path.join(dir, 'config.json');
    writeFileSync(file, '{}');
    expect(await releaseSpecFifo(file)).toBe(false);
    expect(await releaseSpecFifo(path.join(dir, 'missing.json'))).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('{}');
  });
});
