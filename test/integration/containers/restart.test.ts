import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, ROOT, startDaemon, type DaemonHandle } from '../../harness/daemon.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

const state = (ref: string) => JSON.parse(d.cli(['inspect', ref]).stdout)[0].State;

describe('daemon crash and restart (live restore)', () => {
  it('keeps containers running across kill -9 and records exits that happened while down', async () => {
    const keep = d
      .cli([
        'run',
        '-d',
        '--name',
        'keep',
        'busybox',
        'sh',
        '-c',
        'while true; do echo tick; sleep 0.2; done',
      ])
      .stdout.trim();
    const dies = d.cli(['run', '-d', '--name', 'dies', 'busybox', 'sleep', '600']).stdout.trim();
    const pidBefore = state(keep).Pid as number;
    expect(pidBefore).toBeGreaterThan(0);

    await d.crash();
    // With the daemon gone the container still runs...
    expect(process.kill(pidBefore, 0)).toBe(true);
    // ...and one that exits meanwhile is noticed after restart.
    process.kill(state2Pid(d, dies), 'SIGKILL');
    await d.restart();
    if (!state(keep).Running) console.error(d.output());

    expect(state(keep).Running).toBe(true);
    expect(state(keep).Pid).toBe(pidBefore);
    await eventually(() => state(dies).Status === 'exited', 10_000, 'dies to be exited');
    expect(state(dies).ExitCode).toBe(137);
    // The re-adopted container still works: exec, logs, stop.
    expect(d.cli(['exec', 'keep', 'echo', 'alive']).stdout).toBe('alive\n');
    expect(d.cli(['logs', '--tail', '1', 'keep']).stdout).toBe('tick\n');
    expect(d.cli(['stop', '-t', '1', 'keep']).code).toBe(0);
    expect(state(keep).Running).toBe(false);
  });

  it('refuses a second daemon on the same data root', async () => {
    if (!d.alive) await d.restart();
    const r = spawnSync(
      process.execPath,
      [
        `${ROOT}/bin/wharfd`,
        '--data-root',
        d.dataRoot,
        '--exec-root',
        `${d.execRoot}-2`,
        '-H',
        `unix://${d.socket}-2`,
      ],
      { timeout: 20_000 },
    );
    expect(r.status).toBe(1);
    expect(existsSync(`${d.execRoot}-2`)).toBe(false);
    expect(r.stderr.toString()).toMatch(/another wharfd is already running with data root/);
  });
});

/** The pid recorded before the crash (read from the record on disk, the daemon being down). */
function state2Pid(h: DaemonHandle, id: string): number {
  return JSON.parse(readFileSync(`${h.dataRoot}/containers/${id}/container.json`, 'utf8')).State
    .Pid;
}
