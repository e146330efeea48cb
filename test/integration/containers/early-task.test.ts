import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, promises as fsp, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { bindable, cliOk, freePort, httpGet } from '../network/helpers.js';

/**
 * A container just created gets its task made ahead of its start (conmon and `runc create`,
 * its init waiting on runc's exec fifo), so that `docker run`'s start only releases it. These
 * tests check that nothing of it shows before the start, that whatever changes the container
 * between create and start gets a fresh task, and that an early task nobody starts — left by
 * a timeout, a removal, a shutdown or a crash — leaves nothing behind.
 */
let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

const ok = (args: string[]): string => cliOk(d, args);
/** runc's view of a container: 'created', 'running', … or undefined when it has none. */
const runcStatus = (id: string): string | undefined => {
  const r = spawnSync('runc', ['--root', path.join(d.execRoot, 'runc'), 'state', id]);
  return r.status === 0
    ? (JSON.parse(r.stdout.toString()) as { status: string }).status
    : undefined;
};
const conmonPid = (id: string): number =>
  Number(readFileSync(path.join(d.execRoot, 'containers', id, 'conmon.pid'), 'utf8'));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const exitFile = (id: string): boolean => existsSync(path.join(d.execRoot, 'exits', id));
const inspect = (ref: string) => JSON.parse(ok(['inspect', ref]))[0];
/** Whether the daemon's bridge holds an endpoint for the container (ready-made namespace). */
const netnsOf = (id: string): boolean => readdirSync(path.join(d.execRoot, 'netns')).includes(id);

describe('early tasks', () => {
  it('are made at create and show nothing until the start', async () => {
    const port = await freePort();
    const id = ok([
      'create',
      '-p',
      `127.0.0.1:${port}:8080`,
      'busybox',
      'sh',
      '-c',
      'echo hello > /www; httpd -f -p 8080 -h /',
    ]);
    await eventually(() => runcStatus(id) === 'created', 10_000, 'the early task');
    expect(netnsOf(id)).toBe(true);
    const rec = inspect(id);
    expect(rec.State.Status).toBe('created');
    expect(rec.State.Pid).toBe(0);
    expect(rec.NetworkSettings.Networks.bridge.IPAddress).toBe('');
    // No host port is held by a container that is only created.
    expect(await bindable('127.0.0.1', port)).toBe(true);
    const net = JSON.parse(ok(['network', 'inspect', 'bridge']))[0];
    expect(Object.keys(net.Containers ?? {})).not.toContain(id);

    const since = Math.floor(Date.now() / 1000) - 5;
    ok(['start', id]);
    expect(runcStatus(id)).toBe('running');
    const running = inspect(id);
    expect(running.State.Pid).toBeGreaterThan(0);
    expect(running.NetworkSettings.Networks.bridge.IPAddress).not.toBe('');
    expect(running.NetworkSettings.Ports['8080/tcp']).toEqual([
      { HostIp: '127.0.0.1', HostPort: String(port) },
    ]);
    await eventually(
      async () => (await httpGet('127.0.0.1', port, '/www')) === 'hello\n',
      10_000,
      'the published port',
    );
    // One start event, after the create.
    const events = ok([
      'events',
      '--since',
      String(since),
      '--until',
      String(Math.floor(Date.now() / 1000) + 1),
      '--filter',
      `container=${id}`,
      '--format',
      '{{.Action}}',
    ]).split('\n');
    expect(events.filter((e) => e === 'start')).toHaveLength(1);
    ok(['rm', '-f', id]);
  });

  it('run with --network none and host, and report exit codes', () => {
    for (const mode of ['none', 'host']) {
      const r = d.cli(['run', '--rm', '--network', mode, 'busybox', 'sh', '-c', 'exit 7']);
      expect(r.code, `${mode}: ${r.stderr}`).toBe(7);
    }
    expect(d.cli(['run', '--rm', 'busybox', 'nosuchcommand']).code).toBe(127);
  });

  it('are taken down when the start does not come, leaving the container as created', async () => {
    const id = ok(['create', 'busybox', 'sh', '-c', 'exit 3']);
    await eventually(() => runcStatus(id) === 'created', 10_000, 'the early task');
    const monitor = conmonPid(id);
    // EARLY_TASK_MS (2 s) later: runc knows it no more, its conmon is gone, no exit file stays.
    await eventually(
      () => runcStatus(id) === undefined && !alive(monitor) && !netnsOf(id),
      10_000,
      'the early task, its conmon and its namespace to go',
    );
    expect(exitFile(id)).toBe(false);
    expect(inspect(id).State.Status).toBe('created');
    // The start makes a task of its own and gets the process's code.
    expect(d.cli(['start', '-a', id]).code).toBe(3);
    expect(inspect(id).State.ExitCode).toBe(3);
    ok(['rm', id]);
  });

  it('are made anew when the container changed between create and start', async () => {
    const net = `early-${process.pid}`;
    ok(['network', 'create', '--subnet', '10.231.77.0/24', net]);
    try {
      const id = ok(['create', '--name', `early-a-${process.pid}`, 'busybox', 'sleep', '300']);
      await eventually(() => runcStatus(id) === 'created', 10_000, 'the early task');
      const before = conmonPid(id);
      ok(['rename', `early-a-${process.pid}`, `early-b-${process.pid}`]);
      ok(['network', 'connect', net, id]);
      ok(['start', id]);
      expect(conmonPid(id)).not.toBe(before);
      const rec = inspect(id);
      expect(rec.Name).toBe(`/early-b-${process.pid}`);
      expect(Object.keys(rec.NetworkSettings.Networks).sort()).toEqual(['bridge', net].sort());
      expect(rec.NetworkSettings.Networks[net].IPAddress).toMatch(/^10\.231\.77\./);
      expect(ok(['exec', id, 'ip', '-o', '-4', 'addr'])).toMatch(/10\.231\.77\./);
      ok(['rm', '-f', id]);
    } finally {
      d.cli(['network', 'rm', net]);
    }
  });

  it('are taken down by rm, with their conmon, namespace and exit file', async () => {
    const id = ok(['create', 'busybox', 'true']);
    await eventually(() => runcStatus(id) === 'created', 10_000, 'the early task');
    const monitor = conmonPid(id);
    ok(['rm', id]);
    await eventually(() => !alive(monitor) && runcStatus(id) === undefined, 5_000, 'rm');
    await eventually(() => !netnsOf(id) && !exitFile(id), 5_000, 'namespace and exit file');
    expect(existsSync(path.join(d.execRoot, 'containers', id))).toBe(false);
  });

  it('survive no shutdown or crash: the next start runs the container once', async () => {
    // A clean shutdown takes the early task down...
    const a = ok(['create', 'busybox', 'sh', '-c', 'echo a; exit 5']);
    await eventually(() => runcStatus(a) === 'created', 10_000, 'the early task');
    const monitorA = conmonPid(a);
    await d.restart();
    expect(runcStatus(a)).toBeUndefined();
    expect(alive(monitorA)).toBe(false);
    // ...and kill -9 leaves it to reconcile.
    const b = ok(['create', 'busybox', 'sh', '-c', 'echo b; exit 6']);
    await eventually(() => runcStatus(b) === 'created', 10_000, 'the early task');
    const monitorB = conmonPid(b);
    await d.crash();
    expect(runcStatus(b)).toBe('created');
    await d.restart();
    expect(runcStatus(b)).toBeUndefined();
    await eventually(() => !alive(monitorB), 5_000, 'the old conmon to exit');
    for (const [id, out, code] of [
      [a, 'a\n', 5],
      [b, 'b\n', 6],
    ] as const) {
      const r = d.cli(['start', '-a', id]);
      expect([r.stdout, r.code]).toEqual([out, code]);
      expect(inspect(id).State.ExitCode).toBe(code);
      ok(['rm', id]);
    }
  });

  it('let a run whose port is taken fail before its process has run', async () => {
    // docker run's start arrives while its early task is in runc create, and may release the
    // process at once, before the start binds the ports: never for a container with ports.
    const port = await freePort();
    const taken = createServer().listen(port, '127.0.0.1');
    await once(taken, 'listening');
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-early-'));
    const run = [
      'run',
      '--rm',
      '-p',
      `127.0.0.1:${port}:80`,
      '-v',
      `${dir}:/mark`,
      'busybox',
      'touch',
      '/mark/ran',
    ];
    try {
      const r = d.cli(run);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/already (allocated|in use)/);
      expect(existsSync(path.join(dir, 'ran'))).toBe(false);
      // The same run with the port free does run (the test can tell).
      taken.close();
      await once(taken, 'close');
      ok(run);
      expect(existsSync(path.join(dir, 'ran'))).toBe(true);
    } finally {
      taken.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('are reaped at start when the daemon died before the record was saved', async () => {
    const id = ok(['create', 'busybox', 'sleep', '300']);
    await eventually(() => runcStatus(id) === 'created', 10_000, 'the early task');
    await d.crash();
    // As if the daemon had died before the create's record reached the disk.
    await fsp.rm(path.join(d.dataRoot, 'containers', id, 'container.json'));
    await d.restart();
    expect(d.cli(['inspect', id]).code).not.toBe(0);
    expect(runcStatus(id)).toBeUndefined();
    expect(existsSync(path.join(d.execRoot, 'containers', id))).toBe(false);
    const mounts = readFileSync('/proc/mounts', 'utf8');
    expect(mounts).not.toContain(id);
  });

  describe('spare task', () => {
    /**
     * The spare task: a bundle whose config.json is still the spec FIFO runc waits on, with
     * no container (a removed container's bundle, still going, is neither).
     */
    const isFifo = (f: string): boolean => {
      try {
        return statSync(f).isFIFO();
      } catch {
        return false;
      }
    };
    const spares = (): string[] =>
      readdirSync(path.join(d.execRoot, 'containers')).filter(
        (id) =>
          isFifo(path.join(d.execRoot, 'containers', id, 'config.json')) &&
          d.cli(['inspect', id]).code !== 0,
      );
    const conmons = (): number[] =>
      spawnSync('pgrep', ['-f', `conmon.*${d.execRoot}`])
        .stdout.toString()
        .split('\n')
        .filter(Boolean)
        .map(Number);

    it('is begun by a run, taken by the next create that fits, and runs it', async () => {
      ok(['run', '--rm', 'busybox', 'true']);
      await eventually(() => spares().length === 1, 5_000, 'a spare task');
      const [spare] = spares();
      // Its runc waits for a spec: no runc state yet.
      expect(runcStatus(spare!)).toBeUndefined();
      expect(ok(['ps', '-aq', '--no-trunc'])).not.toContain(spare);
      // A TTY needs another conmon: that create leaves the spare alone.
      const tty = ok(['create', '-t', 'busybox', 'true']);
      expect(tty).not.toBe(spare);
      ok(['rm', tty]);
      const id = ok([
        'create',
        '--network',
        'none',
        'busybox',
        'sh',
        '-c',
        'echo from-spare; exit 4',
      ]);
      expect(id).toBe(spare);
      const r = d.cli(['start', '-a', id]);
      expect([r.stdout, r.code]).toEqual(['from-spare\n', 4]);
      expect(inspect(id).State.ExitCode).toBe(4);
      ok(['rm', id]);
      await eventually(() => !existsSync(path.join(d.execRoot, 's', id)), 5_000, 'its socket link');
    });

    it('goes with its directories when the create that took it is refused', async () => {
      const name = `spare-dup-${process.pid}`;
      ok(['run', '--rm', 'busybox', 'true']);
      await eventually(() => spares().length === 1, 5_000, 'a spare task');
      const [first] = spares();
      const a = ok(['create', '--name', name, 'busybox', 'true']);
      expect(a).toBe(first);
      // A create alone begins no spare; a's start does, a moment after it.
      await new Promise((r) => setTimeout(r, 200));
      expect(spares()).toEqual([]);
      ok(['start', a]);
      // A create refused for its name takes that next spare.
      await eventually(() => spares().length === 1, 5_000, 'the next spare task');
      const [next] = spares();
      const r = d.cli(['create', '--name', name, 'busybox', 'true']);
      expect(r.stderr).toMatch(/is already in use/);
      await eventually(
        () =>
          !existsSync(path.join(d.execRoot, 'containers', next!)) &&
          !existsSync(path.join(d.dataRoot, 'containers', next!)),
        5_000,
        'the refused spare to go',
      );
      expect(spawnSync('pgrep', ['-f', `conmon.*${next}`]).status).toBe(1);
      ok(['rm', a]);
    });

    it('leaves nothing after a shutdown or a crash', async () => {
      ok(['run', '--rm', 'busybox', 'true']);
      await eventually(() => spares().length === 1, 5_000, 'a spare task');
      const [first] = spares();
      await d.restart();
      expect(existsSync(path.join(d.execRoot, 'containers', first!))).toBe(false);
      expect(existsSync(path.join(d.dataRoot, 'containers', first!))).toBe(false);
      ok(['run', '--rm', 'busybox', 'true']);
      await eventually(() => spares().length === 1, 5_000, 'a spare task');
      const [second] = spares();
      await d.crash();
      // The daemon's end of the spec FIFO closed with it: runc fails and conmon goes.
      await eventually(() => conmons().length === 0, 5_000, 'the spare conmon to exit');
      await d.restart();
      expect(existsSync(path.join(d.execRoot, 'containers', second!))).toBe(false);
      expect(existsSync(path.join(d.dataRoot, 'containers', second!))).toBe(false);
      // Nor any container's attach-socket link (conmon's, one per container ever run).
      for (const id of [first!, second!]) {
        expect(existsSync(path.join(d.execRoot, 's', id))).toBe(false);
      }
    });
  });
});
