/**
 * `docker attach` and `docker logs` in depth: attach to running containers (output and stdin),
 * `logs -f` ending with the container, --since/--until/--timestamps, rotation by max-size and
 * max-file, the `none` driver, and logs kept across container and daemon restarts.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { cliSpawn, type PtySession } from '../../harness/pty.js';
import { demuxBuffer, uniq } from '../../harness/streams.js';

const LABEL = 'wharf.test';
const FILE = 'logs';
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
/** Wait inside the container until the test creates /tmp/<name> (no sleeps in the test). */
const waitFor = (name: string): string => `while [ ! -f /tmp/${name} ]; do sleep 0.05; done`;

let d: DaemonHandle;
const cleanup: string[] = [];
const sessions: PtySession[] = [];

beforeAll(async () => {
  d = await startDaemon();
});
afterEach(async () => {
  for (const s of sessions.splice(0)) s.kill();
  for (const id of cleanup.splice(0)) d.cli(['rm', '-f', id]);
});
afterAll(async () => {
  await d?.stop();
});

/** `docker run -d` with a unique name, labelled; removed after the test. Returns the ID. */
function run(prefix: string, args: string[]): string {
  const r = d.cli(['run', '-d', '--name', uniq(prefix), '--label', `${LABEL}=${FILE}`, ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  cleanup.push(id);
  return id;
}

function bg(args: string[]): PtySession {
  const s = cliSpawn(d, args);
  sessions.push(s);
  return s;
}

const logsOf = (id: string, ...flags: string[]): string => d.cli(['logs', ...flags, id]).stdout;

async function logFiles(id: string): Promise<string[]> {
  const dir = path.join(d.dataRoot, 'containers', id);
  return (await fsp.readdir(dir)).filter((f) => f.startsWith('container.log')).sort();
}

describe('docker attach', () => {
  it('shows the output of a running container and ends with its exit code', async () => {
    const id = run('at-out', [
      'busybox',
      'sh',
      '-c',
      `echo before; ${waitFor('go')}; echo after-1; echo after-err >&2; exit 5`,
    ]);
    await eventually(() => logsOf(id) === 'before\n');
    const s = bg(['attach', '--no-stdin', id]);
    // attach streams what comes after it, not the earlier output.
    await eventually(() => d.cli(['exec', id, 'touch', '/tmp/go']).code === 0);
    await s.stdout.until('after-1\n');
    await s.stderr.until('after-err\n');
    expect(await s.exited).toBe(5);
    expect(s.stdout.text).toBe('after-1\n');
    expect(s.stderr.text).toBe('after-err\n');
  });

  it('forwards stdin to a container started with -i', async () => {
    const id = run('at-in', ['-i', 'busybox', 'sh', '-c', 'while read l; do echo got:$l; done']);
    const s = bg(['attach', id]);
    // The attach is live once an exec-written marker shows up on it.
    await eventually(async () => {
      d.cli(['exec', id, 'sh', '-c', 'echo ready > /proc/1/fd/1']);
      return s.stdout.text.includes('ready');
    });
    s.write('hello\n');
    await s.stdout.until('got:hello\n');
    s.write('world\n');
    await s.stdout.until('got:world\n');
    d.cli(['kill', id]);
    expect(await s.exited).toBe(137);
  });

  it('refuses to attach to a stopped container', () => {
    const id = run('at-stopped', ['busybox', 'true']);
    d.cli(['wait', id]);
    const r = d.cli(['attach', id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot attach to a stopped container, start it first/);
  });

  it('start -a streams the output and returns the exit code; -i feeds stdin', () => {
    const name = uniq('at-start');
    const created = d.cli([
      'create',
      '-i',
      '--name',
      name,
      '--label',
      `${LABEL}=${FILE}`,
      'busybox',
      'sh',
      '-c',
      'read x; echo "in:$x"; echo oops >&2; exit 9',
    ]);
    cleanup.push(created.stdout.trim());
    const r = d.cli(['start', '-a', '-i', name], { input: 'abc\n' });
    expect(r.stdout).toBe('in:abc\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.code).toBe(9);
  });
});

describe('docker logs', () => {
  it('logs -f ends when the container exits', async () => {
    const id = run('lg-follow', ['busybox', 'sh', '-c', `echo first; ${waitFor('go')}; echo last`]);
    const s = bg(['logs', '-f', id]);
    await s.stdout.until('first\n');
    expect(d.cli(['exec', id, 'touch', '/tmp/go']).code).toBe(0);
    expect(await s.exited).toBe(0);
    expect(s.stdout.text).toBe('first\nlast\n');
  });

  it('logs -f --tail 0 shows only what comes next', async () => {
    const id = run('lg-tail0', ['busybox', 'sh', '-c', `echo old; ${waitFor('go')}; echo new`]);
    await eventually(() => logsOf(id) === 'old\n');
    const s = bg(['logs', '-f', '--tail', '0', id]);
    await eventually(() => d.cli(['exec', id, 'touch', '/tmp/go']).code === 0);
    expect(await s.exited).toBe(0);
    expect(s.stdout.text).toBe('new\n');
  });

  it('--since and --until select by time; --timestamps prefixes RFC 3339 nano times', async () => {
    const id = run('lg-time', ['busybox', 'sh', '-c', `echo early; ${waitFor('go')}; echo late`]);
    await eventually(() => logsOf(id) === 'early\n');
    // Every line logged so far is before `mid`, every line after the trigger is after it.
    const midMs = Date.now();
    await eventually(() => Date.now() > midMs + 5);
    expect(d.cli(['exec', id, 'touch', '/tmp/go']).code).toBe(0);
    expect(d.cli(['wait', id]).stdout).toBe('0\n');
    const mid = new Date(midMs).toISOString();
    const midUnix = (midMs / 1000).toFixed(3);

    expect(logsOf(id, '--since', mid)).toBe('late\n');
    expect(logsOf(id, '--until', mid)).toBe('early\n');
    expect(logsOf(id, '--since', midUnix)).toBe('late\n');
    expect(logsOf(id, '--until', midUnix)).toBe('early\n');
    expect(logsOf(id, '--since', '1h')).toBe('early\nlate\n');
    expect(logsOf(id, '--until', '1h')).toBe('');
    expect(logsOf(id, '--since', mid, '--until', mid)).toBe('');

    const stamped = logsOf(id, '--timestamps').trim().split('\n');
    expect(stamped).toHaveLength(2);
    const [t1, l1] = stamped[0]!.split(' ');
    const [t2, l2] = stamped[1]!.split(' ');
    expect([l1, l2]).toEqual(['early', 'late']);
    expect(t1).toMatch(TS);
    expect(t2).toMatch(TS);
    expect(Date.parse(t1!)).toBeLessThanOrEqual(midMs);
    expect(Date.parse(t2!)).toBeGreaterThan(midMs);
    // --timestamps composes with --since and --tail.
    expect(logsOf(id, '-t', '--since', mid)).toBe(`${t2} late\n`);
    expect(logsOf(id, '-t', '--tail', '1')).toBe(`${t2} late\n`);

    const bad = d.cli(['logs', '--since', 'yesterday-ish', id]);
    expect(bad.code).not.toBe(0);
  });

  it('dockerode logs: since/until in seconds and timestamps', async () => {
    const id = run('lg-dk', ['busybox', 'sh', '-c', `echo a; ${waitFor('go')}; echo b >&2`]);
    await eventually(() => logsOf(id) === 'a\n');
    const midMs = Date.now();
    await eventually(() => Date.now() > midMs + 1000);
    expect(d.cli(['exec', id, 'touch', '/tmp/go']).code).toBe(0);
    d.cli(['wait', id]);
    const c = d.docker.getContainer(id);
    const get = async (o: Record<string, unknown>): Promise<{ stdout: string; stderr: string }> =>
      demuxBuffer((await c.logs({ stdout: true, stderr: true, ...o })) as unknown as Buffer);
    const sec = Math.ceil(midMs / 1000);
    expect(await get({ since: sec })).toEqual({ stdout: '', stderr: 'b\n' });
    expect(await get({ until: sec })).toEqual({ stdout: 'a\n', stderr: '' });
    const ts = await get({ timestamps: true });
    expect(ts.stdout).toMatch(/^\S+Z a\n$/);
    expect(ts.stderr).toMatch(/^\S+Z b\n$/);
  });
});

describe('log rotation and drivers', () => {
  it('max-size/max-file: rotates, keeps at most max-file files, logs shows the newest lines in order', async () => {
    const id = run('lg-rot', [
      '--log-driver',
      'json-file',
      '--log-opt',
      'max-size=100k',
      '--log-opt',
      'max-file=3',
      'busybox',
      'sh',
      '-c',
      `echo started; ${waitFor('never')}`,
    ]);
    expect(JSON.parse(d.cli(['inspect', id]).stdout)[0].HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '100k', 'max-file': '3' },
    });
    await eventually(() => logsOf(id) === 'started\n');
    // ~1 MB of numbered lines in 4 bursts, written to the container's stdout from exec; each
    // burst is let rotate before the next, so max-file has old files to drop.
    const perRound = 20_000;
    let last = 0;
    let seenMax = 0;
    for (let round = 0; round < 4; round++) {
      const from = last + 1;
      last += perRound;
      const w = d.cli([
        'exec',
        id,
        'awk',
        `BEGIN { for (i = ${from}; i <= ${last}; i++) printf "line-%07d\\n", i > "/proc/1/fd/1" }`,
      ]);
      expect(w.code).toBe(0);
      await eventually(
        async () => {
          const files = await logFiles(id);
          seenMax = Math.max(seenMax, files.length);
          const size = (await fsp.stat(path.join(d.dataRoot, 'containers', id, 'container.log')))
            .size;
          return files.includes('container.log.1') && size < 100 * 1024;
        },
        15_000,
        `rotation after round ${round}`,
      );
    }
    const files = await logFiles(id);
    expect(files).toEqual(['container.log', 'container.log.1', 'container.log.2']);
    expect(seenMax).toBeLessThanOrEqual(3);

    const all = logsOf(id).split('\n').filter(Boolean);
    // The oldest lines were dropped; what is left is a gap-free run ending with the last line.
    // The oldest file kept may begin with the tail of a line whose start went with a dropped
    // file (conmon splits lines at its read boundaries): that tail is all that remains of it.
    const out = /^line-\d{7}$/.test(all[0]!) ? all : all.slice(1);
    expect(out[0]).not.toBe('started');
    expect(out.length).toBeGreaterThan(1000);
    expect(out.length).toBeLessThan(last);
    expect(out.at(-1)).toBe(`line-${String(last).padStart(7, '0')}`);
    const first = Number(out[0]!.slice(5));
    out.forEach((l, i) => {
      if (l !== `line-${String(first + i).padStart(7, '0')}`)
        throw new Error(`line ${i} is ${l}, expected line-${first + i}`);
    });
    expect(logsOf(id, '--tail', '2')).toBe(
      `line-${String(last - 1).padStart(7, '0')}\nline-${String(last).padStart(7, '0')}\n`,
    );
  });

  // Rotation follows writes (inotify), so a burst no longer lands in one file of several MB as
  // with a timer: a file overshoots max-size only by what conmon writes while one rotation is
  // under way (here ~4.5 MB of log arrive in well under a second). That is a few ms of output,
  // more when the daemon's event loop is held up meanwhile (a fork for a spawn, a `logs`
  // reader): up to ~0.8 MB was seen in 32 bursts on these 2-core machines, so the bound
  // checked is max-size + 1 MB, a quarter of what one file would hold without rotation.
  it('max-size bounds each file even for a burst', async () => {
    const id = run('lg-burst', [
      '--log-driver',
      'json-file',
      '--log-opt',
      'max-size=100k',
      '--log-opt',
      'max-file=3',
      'busybox',
      'sh',
      '-c',
      `awk 'BEGIN { for (i = 1; i <= 80000; i++) printf "line-%07d\\n", i }'; ${waitFor('never')}`,
    ]);
    await eventually(() => logsOf(id, '--tail', '1') === 'line-0080000\n', 20_000);
    const sizes: Record<string, number> = {};
    for (const f of await logFiles(id))
      sizes[f] = (await fsp.stat(path.join(d.dataRoot, 'containers', id, f))).size;
    for (const [f, size] of Object.entries(sizes))
      expect([f, size <= 100 * 1024 + 1024 * 1024, sizes]).toEqual([f, true, sizes]);
  });

  it('--log-driver none: docker logs refuses with the docker error, no log file', async () => {
    const id = run('lg-none', ['--log-driver', 'none', 'busybox', 'sh', '-c', 'echo hidden']);
    d.cli(['wait', id]);
    const r = d.cli(['logs', id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Error response from daemon: configured logging driver does not support reading/,
    );
    expect(await logFiles(id)).toEqual([]);
    expect(JSON.parse(d.cli(['inspect', id]).stdout)[0]).toMatchObject({
      LogPath: '',
      HostConfig: { LogConfig: { Type: 'none' } },
    });
    const raw = await d.docker
      .getContainer(id)
      .logs({ stdout: true })
      .then(
        () => undefined,
        (e: { statusCode: number }) => e.statusCode,
      );
    expect(raw).toBe(400);
  });

  it('--log-driver none: an attached docker run still shows the output', () => {
    const name = uniq('lg-none-run');
    const r = d.cli([
      'run',
      '--rm',
      '--name',
      name,
      '--log-driver',
      'none',
      'busybox',
      'sh',
      '-c',
      'echo visible; echo also >&2',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('visible\n');
    expect(r.stderr).toBe('also\n');
  });

  it('refuses unknown drivers and options with 125 and the docker message', () => {
    const drv = d.cli(['run', '--rm', '--log-driver', 'nosuchdriver', 'busybox', 'true']);
    expect(drv.code).toBe(125);
    expect(drv.stderr).toMatch(/no log driver named 'nosuchdriver' is registered/);
    const opt = d.cli([
      'run',
      '--rm',
      '--log-driver',
      'json-file',
      '--log-opt',
      'bogus=1',
      'busybox',
      'true',
    ]);
    expect(opt.code).toBe(125);
    expect(opt.stderr).toMatch(/unknown log opt 'bogus' for json-file log driver/);
  });

  it('--log-opt alone applies to the default driver', () => {
    const id = run('lg-optonly', ['--log-opt', 'max-size=100k', 'busybox', 'true']);
    expect(JSON.parse(d.cli(['inspect', id]).stdout)[0].HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '100k' },
    });
    const opt = d.cli(['run', '--rm', '--log-opt', 'bogus=1', 'busybox', 'true']);
    expect(opt.code).toBe(125);
    expect(opt.stderr).toMatch(/unknown log opt 'bogus' for json-file log driver/);
  });

  it('keeps earlier lines across docker restart', () => {
    const id = run('lg-restart', ['busybox', 'sh', '-c', 'echo run-$(cat /proc/uptime | wc -c)']);
    d.cli(['wait', id]);
    const before = logsOf(id);
    expect(before).toMatch(/^run-\d+\n$/);
    expect(d.cli(['restart', '-t', '0', id]).code).toBe(0);
    d.cli(['wait', id]);
    const after = logsOf(id).split('\n').filter(Boolean);
    expect(after).toHaveLength(2);
    expect(`${after[0]}\n`).toBe(before);
    expect(d.cli(['start', id]).code).toBe(0);
    d.cli(['wait', id]);
    expect(logsOf(id).split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('keeps logs across a daemon restart; a running container keeps logging', async () => {
    const done = run('lg-dmn-done', ['busybox', 'sh', '-c', 'echo from-before']);
    const live = run('lg-dmn-live', [
      'busybox',
      'sh',
      '-c',
      `echo one; ${waitFor('go')}; echo two; ${waitFor('never')}`,
    ]);
    d.cli(['wait', done]);
    await eventually(() => logsOf(live) === 'one\n');
    await d.crash();
    await d.restart();
    expect(logsOf(done)).toBe('from-before\n');
    expect(logsOf(live)).toBe('one\n');
    const s = bg(['logs', '-f', live]);
    await s.stdout.until('one\n');
    expect(d.cli(['exec', live, 'touch', '/tmp/go']).code).toBe(0);
    await s.stdout.until('two\n');
    expect(logsOf(live)).toBe('one\ntwo\n');
    d.cli(['kill', live]);
    expect(await s.exited).toBe(0);
    expect(s.stdout.text).toBe('one\ntwo\n');
  });
});
