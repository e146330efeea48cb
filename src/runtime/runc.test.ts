import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { silentLogger } from '../common/index.js';

import {
  Runc,
  deleteArgs,
  killArgs,
  listArgs,
  psArgs,
  runcError,
  runcErrorMessage,
  startCreated,
  updateArgs,
} from './runc.js';

describe('runc argv', () => {
  it('builds subcommands', () => {
    const r = new Runc({
      binary: '/usr/sbin/runc',
      root: '/run/wharf/runc',
      logger: silentLogger(),
    });
    expect(r.argv(killArgs('c1', 'KILL', { all: true }))).toEqual([
      '/usr/sbin/runc',
      '--root',
      '/run/wharf/runc',
      '--log-format',
      'json',
      'kill',
      '--all',
      'c1',
      'KILL',
    ]);
    expect(killArgs('c1', 15)).toEqual(['kill', 'c1', '15']);
    expect(deleteArgs('c1', { force: true })).toEqual(['delete', '--force', 'c1']);
    expect(deleteArgs('c1')).toEqual(['delete', 'c1']);
    expect(psArgs('c1')).toEqual(['ps', '--format', 'json', 'c1']);
    expect(listArgs()).toEqual(['list', '--format', 'json']);
    expect(updateArgs('c1')).toEqual(['update', '--resources', '-', 'c1']);
  });
});

describe('runc errors', () => {
  it('extracts the message from JSON and text logs', () => {
    expect(
      runcErrorMessage('{"level":"error","msg":"container does not exist","time":"x"}\n'),
    ).toBe('container does not exist');
    expect(runcErrorMessage('time="x" level=error msg="exec: \\"nosuch\\": not found"\n')).toBe(
      'exec: "nosuch": not found',
    );
  });

  it('classifies by message', () => {
    expect(runcError('container does not exist').kind).toBe('not-found');
    expect(runcError('container not running').kind).toBe('conflict');
    expect(runcError('container not paused').kind).toBe('conflict');
    expect(runcError('cannot delete container c1 that is not stopped: running').kind).toBe(
      'conflict',
    );
    expect(runcError('something broke').kind).toBe('internal');
    expect(runcError('container not running').message).toBe('container not running');
  });
});

/**
 * startCreated against a stand-in for runc's state dir: `mkfifo` plays runc create making
 * exec.fifo, and a shell writing "0" into it plays init reaching its handshake.
 */
describe('startCreated', () => {
  const later = (ms: number, fn: () => void): Promise<void> =>
    new Promise((resolve) =>
      setTimeout(() => {
        fn();
        resolve();
      }, ms),
    );
  const init = (fifo: string): Promise<number | null> => {
    const p = spawn('sh', ['-c', 'printf 0 > "$1"', 'sh', fifo]);
    return new Promise((resolve) => p.on('exit', (code) => resolve(code)));
  };
  const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'start-created-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('without a create under way, says when there is no fifo', async () => {
    await withDir(async (dir) => expect(await startCreated(dir)).toBe('no-fifo'));
  });

  it('armed during the create, waits for the fifo and releases init before the create returns', async () => {
    await withDir(async (dir) => {
      const fifo = path.join(dir, 'exec.fifo');
      let created!: () => void;
      const creating = new Promise<void>((resolve) => (created = resolve));
      const started = startCreated(dir, creating);
      let initDone: Promise<number | null> | undefined;
      await later(30, () => expect(spawnSync('mkfifo', [fifo]).status).toBe(0));
      await later(30, () => (initDone = init(fifo)));
      // init got its reader and ran on while the create has not returned.
      expect(await initDone).toBe(0);
      created();
      expect(await started).toBe('started');
      expect(existsSync(fifo)).toBe(false);
    });
  });

  it('armed during a create that fails, reports init gone', async () => {
    await withDir(async (dir) => {
      const creating = new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error('runc create failed')), 30),
      );
      creating.catch(() => undefined);
      expect(await startCreated(dir, creating)).toBe('init-gone');
    });
  });

  it('armed during a create that fails after making the fifo, reports init gone', async () => {
    await withDir(async (dir) => {
      const fifo = path.join(dir, 'exec.fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const creating = new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error('runc create failed')), 30),
      );
      creating.catch(() => undefined);
      expect(await startCreated(dir, creating)).toBe('init-gone');
    });
  });
});
