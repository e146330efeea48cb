import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

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

  it('reaps a task left by a start the daemon did not finish recording', async () => {
    const id = d.cli(['create', '--name', 'half', 'busybox', 'sleep', '600']).stdout.trim();
    expect(d.cli(['start', 'half']).code).toBe(0);
    const pid = state('half').Pid as number;
    await d.crash();
    // What a kill -9 between `runc create` and the record save leaves: a live task, and a
    // record that still says created.
    const file = `${d.dataRoot}/containers/${id}/container.json`;
    const rec = JSON.parse(readFileSync(file, 'utf8'));
    rec.State = { ...rec.State, Status: 'created', Running: false, Pid: 0 };
    writeFileSync(file, JSON.stringify(rec));
    await d.restart();
    await eventually(() => !existsSync(`/proc/${pid}`), 10_000, 'the leftover task to be killed');
    expect(existsSync(`${d.execRoot}/runc/${id}`)).toBe(false);
    expect(d.cli(['start', 'half']).code).toBe(0);
    expect(state('half').Running).toBe(true);
    d.cli(['rm', '-f', 'half']);
  });

  // A container whose volume is filled from the image's content needs its root mounted on
  // the host (the others have runc mount it in their own namespace, see below).
  it('mounts a host-rooted container at create, and leaves no mount after a restart or a rm', async () => {
    if (!d.alive) await d.restart();
    const rootfsOf = (id: string) => `${d.execRoot}/containers/${id}/rootfs`;
    const mounted = (id: string) =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[4] === rootfsOf(id)).length;
    const early = d.cli(['create', '-v', '/etc', 'busybox', 'true']).stdout.trim();
    const kept = d.cli(['create', '-v', '/etc', 'busybox', 'cat', '/etc/hostname']).stdout.trim();
    // Mounted without a start (the start that usually follows finds it done)...
    await eventually(() => mounted(early) === 1 && mounted(kept) === 1, 10_000, 'mounts');
    // ...and unmounted by rm of the never-started container.
    expect(d.cli(['rm', early]).code).toBe(0);
    await eventually(() => mounted(early) === 0, 10_000, 'rm to unmount');
    // A restart forgets mounts begun at create: reconcile takes them down, and the next start
    // mounts once (not on top of the old one).
    await d.crash();
    expect(mounted(kept)).toBe(1);
    await d.restart();
    expect(mounted(kept)).toBe(0);
    expect(d.cli(['start', '-a', kept]).stdout).toBe(`${kept.slice(0, 12)}\n`);
    expect(mounted(kept)).toBe(0);
    expect(d.cli(['rm', '-v', kept]).code).toBe(0);

    // A clean shutdown takes a created container's mount down too (the next start mounts).
    const idle = d.cli(['create', '-v', '/etc', 'busybox', 'true']).stdout.trim();
    await eventually(() => mounted(idle) === 1, 10_000, 'the mount at create');
    const exited = new Promise((resolve) => d.process.once('exit', resolve));
    d.process.kill('SIGTERM');
    await exited;
    expect(mounted(idle)).toBe(0);
    await d.restart();
    expect(d.cli(['start', '-a', idle]).code).toBe(0);
    expect(d.cli(['rm', '-v', idle]).code).toBe(0);
  });

  it("has runc mount a container's root in the container's namespace only", async () => {
    if (!d.alive) await d.restart();
    const rootfs = (id: string) => `${d.execRoot}/containers/${id}/rootfs`;
    const hostMounts = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(`${d.dataRoot}/`) || l.includes(`${d.execRoot}/containers/`));
    const id = d
      .cli(['run', '-d', 'busybox', 'sh', '-c', 'echo hi > /made; sleep 600'])
      .stdout.trim();
    await eventually(() => d.cli(['diff', id]).stdout.includes('A /made'), 10_000, 'the write');
    // Inside, the root is the overlay over the image's layers and the container's upper dir...
    const inside = d.cli(['exec', id, 'head', '-1', '/proc/self/mountinfo']).stdout;
    expect(inside).toMatch(
      / \/ \/ .* - overlay overlay .*upperdir=\S*\/containers\/[0-9a-f]{64}\/upper/,
    );
    // ...and the host has no mount of it, before a crash or after.
    expect(hostMounts()).toEqual([]);
    expect(readdirSync(rootfs(id))).toEqual([]);
    await d.crash();
    await d.restart();
    expect(d.cli(['exec', id, 'cat', '/made']).stdout).toBe('hi\n');
    expect(d.cli(['rm', '-f', id]).code).toBe(0);
    expect(hostMounts()).toEqual([]);
    // A named user and a working directory the image lacks, without a host mount either.
    const r = d.cli([
      'run',
      '--rm',
      '-u',
      'nobody',
      '-w',
      '/new/dir',
      'busybox',
      'sh',
      '-c',
      'id -un; pwd',
    ]);
    expect(r.stdout).toBe('nobody\n/new/dir\n');
  });

  it('refuses a second daemon on the same data root', async () => {
    if (!d.alive) await d.restart();
    const r = spawnSync(
      `${ROOT}/bin/wharfd`,
      ['--data-root', d.dataRoot, '--exec-root', `${d.execRoot}-2`, '-H', `unix://${d.socket}-2`],
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
