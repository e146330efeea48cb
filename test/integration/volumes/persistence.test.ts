/**
 * Volumes outlive containers and the daemon: data, records and the in-use bookkeeping survive
 * container removal, a clean daemon restart and `kill -9`; volume filesystems mounted for
 * containers are kept while those run and unmounted when they end, even while the daemon is down.
 */
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

const ok = (args: string[]): string => {
  const r = d.cli(args);
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const mounted = (p: string): boolean =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === p);

async function gracefulRestart(): Promise<void> {
  d.process.kill('SIGTERM');
  await eventually(() => !d.alive, 15_000, 'daemon exit');
  await d.restart();
}

describe('persistence', () => {
  it('data survives container removal and a clean daemon restart', async () => {
    const vol = uniq('keep');
    ok(['volume', 'create', '--label', 'owner=test', vol]);
    ok(['run', '--rm', '-v', `${vol}:/d`, 'busybox', 'sh', '-c', 'echo persisted > /d/f']);
    await gracefulRestart();
    const v = JSON.parse(ok(['volume', 'inspect', vol]))[0];
    expect(v.Labels).toEqual({ owner: 'test' });
    expect(ok(['run', '--rm', '-v', `${vol}:/d`, 'busybox', 'cat', '/d/f'])).toBe('persisted\n');
    ok(['volume', 'rm', vol]);
  });

  it('after kill -9: data, references and anonymous volumes are restored', async () => {
    const vol = uniq('crash');
    const c = uniq('runner');
    ok([
      'run',
      '-d',
      '--name',
      c,
      '-v',
      `${vol}:/d`,
      '-v',
      '/anon',
      'busybox',
      'sh',
      '-c',
      'echo before > /d/f; echo a > /anon/a; sleep 600',
    ]);
    await eventually(() => d.cli(['exec', c, 'cat', '/d/f']).stdout === 'before\n');
    const anon = JSON.parse(ok(['inspect', c]))[0].Mounts.find(
      (m: { Destination: string }) => m.Destination === '/anon',
    ).Name as string;
    await d.crash();
    await d.restart();
    // Still running, still writing to the same volume.
    ok(['exec', c, 'sh', '-c', 'echo after >> /d/f']);
    const id = ok(['inspect', '-f', '{{.Id}}', c]).trim();
    const inUse = d.cli(['volume', 'rm', vol]);
    expect(inUse.stderr).toContain(`remove ${vol}: volume is in use - [${id}]`);
    expect(d.cli(['volume', 'rm', anon]).code).toBe(1);
    ok(['rm', '-f', '-v', c]);
    expect(ok(['volume', 'ls', '-q'])).not.toContain(anon);
    expect(ok(['run', '--rm', '-v', `${vol}:/d`, 'busybox', 'cat', '/d/f'])).toBe(
      'before\nafter\n',
    );
    ok(['volume', 'rm', vol]);
  });

  it('a tmpfs volume stays mounted across a crash while used, and is unmounted when its container ended while the daemon was down', async () => {
    const vol = uniq('tmpvol');
    ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', vol]);
    const data = path.join(d.dataRoot, 'volumes', vol, '_data');
    const long = uniq('long');
    const short = uniq('short');
    ok([
      'run',
      '-d',
      '--name',
      long,
      '-v',
      `${vol}:/t`,
      'busybox',
      'sh',
      '-c',
      'echo in-tmpfs > /t/f; sleep 600',
    ]);
    await eventually(() => d.cli(['exec', long, 'cat', '/t/f']).stdout === 'in-tmpfs\n');
    // A second user that ends on its own.
    ok(['run', '-d', '--name', short, '-v', `${vol}:/t`, 'busybox', 'sleep', '2']);
    expect(mounted(data)).toBe(true);
    await d.crash();
    await d.restart();
    expect(d.cli(['exec', long, 'cat', '/t/f']).stdout).toBe('in-tmpfs\n');
    await eventually(
      () => JSON.parse(ok(['inspect', short]))[0].State.Running === false,
      15_000,
      'short container exit',
    );
    // One user left: still mounted.
    expect(mounted(data)).toBe(true);
    ok(['rm', '-f', long]);
    expect(mounted(data)).toBe(false);

    // Now the last user exits while the daemon is down: the restart unmounts the volume.
    ok(['start', short]);
    expect(mounted(data)).toBe(true);
    const pid = Number(ok(['inspect', '-f', '{{.State.Pid}}', short]).trim());
    expect(pid).toBeGreaterThan(0);
    await d.crash();
    await eventually(() => !existsSync(`/proc/${pid}`), 15_000, 'exit while down');
    await d.restart();
    await eventually(() => !mounted(data), 15_000, 'volume unmounted by reconcile');
    ok(['rm', short]);
    ok(['volume', 'rm', vol]);
  });

  it('half-created and half-removed volume directories left by a crash are cleaned at start', async () => {
    await d.crash();
    const root = path.join(d.dataRoot, 'volumes');
    mkdirSync(path.join(root, '.staging-abc123', '_data'), { recursive: true });
    mkdirSync(path.join(root, '.trash-def456', '_data'), { recursive: true });
    await d.restart();
    expect(existsSync(path.join(root, '.staging-abc123'))).toBe(false);
    expect(existsSync(path.join(root, '.trash-def456'))).toBe(false);
    expect(ok(['volume', 'ls', '-q'])).not.toMatch(/staging|trash/);
  });
});
