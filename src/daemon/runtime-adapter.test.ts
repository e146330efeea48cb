import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../common/index.js';

import { RuntimeAdapter } from './runtime-adapter.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'runtime-adapter-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('RuntimeAdapter.init', () => {
  it('frees a runc a previous daemon left blocked on its spec FIFO', async () => {
    const id = 'a'.repeat(64);
    const bundles = path.join(dir, 'containers');
    mkdirSync(path.join(bundles, id), { recursive: true });
    const config = path.join(bundles, id, 'config.json');
    expect(spawnSync('mkfifo', [config]).status).toBe(0);
    // Stands in for runc: blocked in open(2), as when the daemon died before the spec.
    const runc = spawn('cat', [config], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => runc.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 100));
    const adapter = new RuntimeAdapter({
      runcBinary: '/usr/sbin/runc',
      conmonBinary: '/usr/bin/conmon',
      runcRoot: path.join(dir, 'runc'),
      bundles,
      exitDir: path.join(dir, 'exits'),
      socketDir: path.join(dir, 's'),
      specFifoDir: path.join(dir, 'spec-fifos'),
      log: silentLogger(),
    });
    await adapter.init();
    adapter.close();
    expect(await exited).toBe(0);
    expect(existsSync(config)).toBe(false);
  });
});
