/**
 * Run options and their read-back (restart policy, stop signal and timeout, env files, labels),
 * `docker ps --format '{{json .}}'`, `container prune`, wait conditions, and the exit codes of
 * `docker run` / `docker start -a` as the docker CLI reports them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { uniq, waitRequest } from '../../harness/streams.js';

const LABEL = 'wharf.test';
const FILE = 'options';

let d: DaemonHandle;
const cleanup: string[] = [];
let tmp: string;

beforeAll(async () => {
  d = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wharf-options-'));
});
afterEach(() => {
  for (const id of cleanup.splice(0)) d.cli(['rm', '-f', id]);
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await d?.stop();
});

/** `docker <verb> -d?` with a unique name and our label; removed after the test. */
function make(
  verb: 'run' | 'create',
  prefix: string,
  args: string[],
): { id: string; name: string } {
  const name = uniq(prefix);
  const r = d.cli([
    verb,
    ...(verb === 'run' ? ['-d'] : []),
    '--name',
    name,
    '--label',
    `${LABEL}=${FILE}`,
    ...args,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  cleanup.push(id);
  return { id, name };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspect JSON is probed freely
const inspect = (ref: string): Record<string, any> => JSON.parse(d.cli(['inspect', ref]).stdout)[0];

const logsOf = (id: string): string => d.cli(['logs', id]).stdout;

describe('run options', () => {
  it('--restart no (and the default) read back in inspect; a no-policy container stays down', () => {
    for (const flags of [[], ['--restart', 'no']]) {
      const { id } = make('run', 'op-restart', [...flags, 'busybox', 'sh', '-c', 'exit 1']);
      expect(d.cli(['wait', id]).stdout).toBe('1\n');
      const info = inspect(id);
      expect([flags, info.HostConfig.RestartPolicy]).toEqual([
        flags,
        { Name: 'no', MaximumRetryCount: 0 },
      ]);
      expect(info.RestartCount).toBe(0);
      expect(info.State.Status).toBe('exited');
    }
    const bad = d.cli(['create', '--restart', 'sometimes', 'busybox', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/sometimes/);
  });

  it('--stop-signal: docker stop sends it, a trap sees it', async () => {
    const { id } = make('run', 'op-stopsig', [
      '--stop-signal',
      'USR1',
      'busybox',
      'sh',
      '-c',
      'trap "echo got-usr1; exit 0" USR1; echo ready; while true; do sleep 0.05; done',
    ]);
    expect(inspect(id).Config.StopSignal).toBe('USR1');
    await eventually(() => logsOf(id) === 'ready\n');
    const t0 = Date.now();
    expect(d.cli(['stop', id]).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(logsOf(id)).toBe('ready\ngot-usr1\n');
    expect(inspect(id).State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    // docker kill without -s sends SIGKILL, whatever the stop signal.
    expect(d.cli(['start', id]).code).toBe(0);
    await eventually(() => logsOf(id).endsWith('ready\n'));
    d.cli(['kill', id]);
    expect(d.cli(['wait', id]).stdout).toBe('137\n');
  });

  it('--stop-timeout: SIGTERM, then SIGKILL when the timeout runs out', async () => {
    const { id } = make('run', 'op-stoptime', [
      '--stop-timeout',
      '1',
      'busybox',
      'sh',
      '-c',
      'trap "echo got-term" TERM; echo ready; while true; do sleep 0.05; done',
    ]);
    expect(inspect(id).Config.StopTimeout).toBe(1);
    await eventually(() => logsOf(id) === 'ready\n');
    const t0 = Date.now();
    expect(d.cli(['stop', id]).code).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(6000); // not the default 10 s
    expect(logsOf(id)).toBe('ready\ngot-term\n');
    expect(inspect(id).State.ExitCode).toBe(137);
    // -t on the command line wins over the container's setting.
    expect(d.cli(['start', id]).code).toBe(0);
    await eventually(() => logsOf(id).endsWith('ready\n'));
    const t1 = Date.now();
    expect(d.cli(['stop', '-t', '0', id]).code).toBe(0);
    expect(Date.now() - t1).toBeLessThan(900);
  });

  it('--env-file, with -e overriding, comments skipped and bare names taken from the client', () => {
    const envFile = path.join(tmp, 'app.env');
    writeFileSync(
      envFile,
      ['# a comment', 'FROM_FILE=one', 'SPACED=with spaces', 'OVERRIDDEN=file', 'PASSED', ''].join(
        '\n',
      ),
    );
    const r = d.cli(
      [
        'run',
        '--rm',
        '--env-file',
        envFile,
        '-e',
        'OVERRIDDEN=flag',
        'busybox',
        'sh',
        '-c',
        'echo "$FROM_FILE|$SPACED|$OVERRIDDEN|$PASSED"; env | grep -c "^#" || true',
      ],
      { env: { PASSED: 'from-client' } },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('one|with spaces|flag|from-client\n0\n');
    const missing = d.cli(['run', '--rm', '--env-file', path.join(tmp, 'nope.env'), 'busybox']);
    expect(missing.code).not.toBe(0);
  });

  it('--label and --label-file read back and filter ps', () => {
    const scope = uniq('scope');
    const labelFile = path.join(tmp, `${scope}.labels`);
    writeFileSync(labelFile, 'from.file=yes\n');
    const a = make('run', 'op-lbl-a', [
      '--label',
      `scope=${scope}`,
      '--label',
      'tier=web',
      '--label-file',
      labelFile,
      'busybox',
      'sleep',
      '600',
    ]);
    const b = make('create', 'op-lbl-b', ['--label', `scope=${scope}`, 'busybox', 'true']);
    expect(inspect(a.id).Config.Labels).toEqual({
      scope,
      tier: 'web',
      'from.file': 'yes',
      [LABEL]: FILE,
    });
    const ps = (...filters: string[]): string[] =>
      d
        .cli(['ps', '-a', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])])
        .stdout.split('\n')
        .filter(Boolean)
        .sort();
    expect(ps(`label=scope=${scope}`)).toEqual([a.name, b.name].sort());
    expect(ps(`label=scope=${scope}`, 'label=tier=web')).toEqual([a.name]);
    expect(ps(`label=scope=${scope}`, 'label=tier')).toEqual([a.name]);
    expect(ps(`label=scope=${scope}`, 'status=created')).toEqual([b.name]);
    expect(ps(`label=scope=${scope}`, 'status=running')).toEqual([a.name]);
    expect(ps(`label=scope=${scope}`, 'ancestor=busybox')).toEqual([a.name, b.name].sort());
    expect(ps(`label=scope=${scope}`, `name=${b.name}`)).toEqual([b.name]);
    expect(ps(`label=scope=${scope}-nomatch`)).toEqual([]);
    const bad = d.cli(['ps', '--filter', 'colour=red']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/invalid filter 'colour'/);
  });
});

describe('ps, prune, wait', () => {
  it("ps -a --format '{{json .}}' has docker's fields", () => {
    const { id, name } = make('run', 'op-json', ['--label', 'k=v', 'busybox', 'sleep', '600']);
    const line = d
      .cli(['ps', '-a', '--no-trunc', '--filter', `id=${id}`, '--format', '{{json .}}'])
      .stdout.trim();
    const row = JSON.parse(line) as Record<string, string>;
    expect(Object.keys(row).sort()).toEqual(
      expect.arrayContaining([
        'Command',
        'CreatedAt',
        'ID',
        'Image',
        'Labels',
        'LocalVolumes',
        'Mounts',
        'Names',
        'Networks',
        'Ports',
        'RunningFor',
        'Size',
        'State',
        'Status',
      ]),
    );
    expect(row).toMatchObject({
      ID: id,
      Names: name,
      Image: 'busybox',
      Command: '"sleep 600"',
      State: 'running',
      Networks: 'bridge',
      Ports: '',
      Mounts: '',
    });
    expect(row['Status']).toMatch(/^Up /);
    expect(row['RunningFor']).toMatch(/ago$/);
    expect(row['CreatedAt']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/);
    expect(row['Labels']!.split(',').sort()).toEqual([`${LABEL}=${FILE}`, 'k=v'].sort());
    // Truncated by default: the 12-character ID and a shortened command.
    const short = JSON.parse(
      d.cli(['ps', '--filter', `id=${id}`, '--format', '{{json .}}']).stdout,
    ) as Record<string, string>;
    expect(short['ID']).toBe(id.slice(0, 12));
  });

  it('container prune removes stopped containers only, honouring label filters', () => {
    const scope = uniq('scope');
    const stopped1 = make('run', 'op-prune1', ['--label', `scope=${scope}`, 'busybox', 'true']);
    const stopped2 = make('create', 'op-prune2', ['--label', `scope=${scope}`, 'busybox', 'true']);
    const running = make('run', 'op-prune3', [
      '--label',
      `scope=${scope}`,
      'busybox',
      'sleep',
      '600',
    ]);
    const other = make('run', 'op-prune4', ['busybox', 'true']);
    d.cli(['wait', stopped1.id, other.id]);
    const r = d.cli(['container', 'prune', '-f', '--filter', `label=scope=${scope}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Deleted Containers:\n/);
    const deleted = r.stdout
      .split('\n')
      .filter((l) => /^[0-9a-f]{64}$/.test(l))
      .sort();
    expect(deleted).toEqual([stopped1.id, stopped2.id].sort());
    expect(r.stdout).toMatch(/Total reclaimed space: /);
    expect(d.cli(['inspect', running.id]).code).toBe(0);
    expect(d.cli(['inspect', other.id]).code).toBe(0);
    expect(d.cli(['inspect', stopped1.id]).code).toBe(1);
    // Nothing left to prune in the scope.
    const again = d.cli(['container', 'prune', '-f', '--filter', `label=scope=${scope}`]);
    expect(again.stdout).not.toMatch(/[0-9a-f]{64}/);
    expect(again.stdout).toMatch(/Total reclaimed space: 0B/);
  });

  it('docker wait: several containers, and an unknown one', () => {
    const a = make('run', 'op-wait-a', ['busybox', 'sh', '-c', 'exit 3']);
    const b = make('run', 'op-wait-b', ['busybox', 'sh', '-c', 'exit 4']);
    expect(d.cli(['wait', a.id, b.name]).stdout).toBe('3\n4\n');
    const missing = uniq('nosuch');
    const r = d.cli(['wait', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`No such container: ${missing}`));
  });

  it('wait ?condition=next-exit sees the exit a docker restart causes', async () => {
    const { id } = make('run', 'op-next', ['busybox', 'sleep', '600']);
    // The daemon sends the response headers once the wait is registered: only then restart.
    const w = await waitRequest(d.socket, id, 'next-exit');
    expect(w.status).toBe(200);
    expect(d.cli(['restart', '-t', '0', id]).code).toBe(0);
    expect(JSON.parse(await w.body)).toEqual({ StatusCode: 137, Error: null });
    expect(inspect(id).State.Running).toBe(true);
    // not-running on a running container waits; removed waits through a forced removal.
    const removed = await waitRequest(d.socket, id, 'removed');
    expect(d.cli(['rm', '-f', id]).code).toBe(0);
    expect(JSON.parse(await removed.body)).toMatchObject({ StatusCode: 137 });
    const bad = await waitRequest(d.socket, uniq('nosuch'), 'next-exit');
    expect(bad.status).toBe(404);
  });
});

describe('exit codes', () => {
  it('docker run: 125 for daemon errors', () => {
    const dup = make('create', 'op-125', ['busybox', 'true']);
    const conflict = d.cli(['run', '--rm', '--name', dup.name, 'busybox', 'true']);
    expect(conflict.code).toBe(125);
    expect(conflict.stderr).toMatch(/Conflict. The container name "\/.+" is already in use/);

    const badName = d.cli(['run', '--rm', '--name', 'no/slash', 'busybox', 'true']);
    expect(badName.code).toBe(125);
    expect(badName.stderr).toMatch(/Invalid container name/);

    const user = d.cli(['run', '--rm', '-u', 'nosuchuser', 'busybox', 'true']);
    expect(user.code).toBe(125);
    expect(user.stderr).toMatch(/unable to find user nosuchuser/);
  });

  it('docker run: 126 when the command cannot be run, 127 when it is missing', () => {
    const dir = d.cli(['run', '--rm', 'busybox', '/etc']);
    expect(dir.code).toBe(126);
    const perm = d.cli(['run', '--rm', 'busybox', '/etc/hostname']);
    expect(perm.code).toBe(126);
    expect(perm.stderr).toMatch(/permission denied/);
    const abs = d.cli(['run', '--rm', 'busybox', '/no/such/binary']);
    expect(abs.code).toBe(127);
    expect(abs.stderr).toMatch(/no such file or directory/);
    // A command that exits 126/127 itself is passed through as any other code.
    expect(d.cli(['run', '--rm', 'busybox', 'sh', '-c', 'exit 127']).code).toBe(127);
    // Killed by a signal: 128 + n (not pid 1, which ignores SIGKILL from inside).
    expect(
      d.cli(['run', '--rm', 'busybox', 'sh', '-c', 'sh -c "kill -9 \\$\\$"; exit $?']).code,
    ).toBe(137);
    // --rm removed the failed containers.
    expect(
      d.cli(['ps', '-a', '-q', '--filter', `label=${LABEL}=${FILE}`, '--filter', 'status=created'])
        .stdout,
    ).toBe('');
  });

  it('docker start -a: the exit code of the container, or the start error', () => {
    const ok = make('create', 'op-start-a', ['busybox', 'sh', '-c', 'echo out; exit 6']);
    const r = d.cli(['start', '-a', ok.id]);
    expect(r.stdout).toBe('out\n');
    expect(r.code).toBe(6);

    const bad = make('create', 'op-start-bad', ['busybox', 'nosuchcmd']);
    const f = d.cli(['start', '-a', bad.id]);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/executable file not found/);
    const st = inspect(bad.id).State;
    expect(st.Status).toBe('created');
    expect(st.ExitCode).toBe(127);
    expect(st.Error).toMatch(/executable file not found/);
    // docker start (not attached) reports the same error.
    const plain = d.cli(['start', bad.id]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/executable file not found/);
  });

  it('exec exit codes: 126 and 127 as docker, the daemon stays up', () => {
    const { id } = make('run', 'op-exec', ['busybox', 'sleep', '600']);
    expect(d.cli(['exec', id, '/etc']).code).toBe(126);
    expect(d.cli(['exec', id, '/no/such']).code).toBe(127);
    expect(d.cli(['exec', id, 'sh', '-c', 'exit 42']).code).toBe(42);
    const stopped = make('create', 'op-exec-stopped', ['busybox', 'true']);
    const r = d.cli(['exec', stopped.id, 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not running/);
    expect(d.alive).toBe(true);
  });
});
