import { spawnSync } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspect JSON is probed freely in assertions
const inspect = (ref: string): Record<string, any> => JSON.parse(d.cli(['inspect', ref]).stdout)[0];

describe('container lifecycle', () => {
  it('create, start, stop, restart, rm', () => {
    const id = d
      .cli(['create', '--name', 'lc1', '--label', 'a=b', 'busybox', 'sleep', '600'])
      .stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(inspect('lc1').State.Status).toBe('created');
    expect(d.cli(['start', 'lc1']).code).toBe(0);
    expect(inspect('lc1').State.Running).toBe(true);
    expect(d.cli(['ps', '--format', '{{.Names}} {{.Status}}']).stdout).toMatch(/lc1 Up/);
    expect(d.cli(['ps', '-q', '--filter', 'label=a=b']).stdout.trim()).toBe(id.slice(0, 12));
    // sleep as pid 1 ignores SIGTERM: stop escalates to SIGKILL after the timeout.
    expect(d.cli(['stop', '-t', '1', 'lc1']).code).toBe(0);
    const st = inspect('lc1').State;
    expect(st.Status).toBe('exited');
    expect(st.ExitCode).toBe(137);
    expect(d.cli(['restart', '-t', '0', 'lc1']).code).toBe(0);
    expect(inspect('lc1').State.Running).toBe(true);
    const rm = d.cli(['rm', 'lc1']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/cannot remove a running container/i);
    expect(d.cli(['rm', '-f', 'lc1']).code).toBe(0);
    const gone = d.cli(['inspect', 'lc1']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/No such (container|object): lc1/);
  });

  it('refuses a duplicate name with a conflict', () => {
    d.cli(['create', '--name', 'dup', 'busybox', 'true']);
    const r = d.cli(['create', '--name', 'dup', 'busybox', 'true']);
    expect(r.code).toBe(1); // docker create exits 1 on daemon errors (run exits 125)
    expect(r.stderr).toMatch(/Conflict. The container name "\/dup" is already in use/);
    d.cli(['rm', 'dup']);
  });

  it('kill sends signals; wait returns the code', () => {
    const id = d
      .cli([
        'run',
        '-d',
        'busybox',
        'sh',
        '-c',
        'trap "exit 42" USR1; while true; do sleep 0.1; done',
      ])
      .stdout.trim();
    expect(d.cli(['kill', '-s', 'USR1', id]).code).toBe(0);
    expect(d.cli(['wait', id]).stdout.trim()).toBe('42');
    const r = d.cli(['kill', id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not running/);
    d.cli(['rm', id]);
  });

  it('kill sends real-time signals by name (RTMIN+2 is 36)', () => {
    const id = d
      .cli([
        'run',
        '-d',
        'busybox',
        'sh',
        '-c',
        'trap "exit 36" 36; trap "exit 1" 35; while true; do sleep 0.1; done',
      ])
      .stdout.trim();
    expect(d.cli(['kill', '-s', 'RTMIN+2', id]).code).toBe(0);
    expect(d.cli(['wait', id]).stdout.trim()).toBe('36');
    d.cli(['rm', id]);
  });

  it('pause and unpause', () => {
    const id = d.cli(['run', '-d', 'busybox', 'sleep', '600']).stdout.trim();
    expect(d.cli(['pause', id]).code).toBe(0);
    expect(inspect(id).State.Status).toBe('paused');
    expect(d.cli(['unpause', id]).code).toBe(0);
    expect(inspect(id).State.Status).toBe('running');
    d.cli(['rm', '-f', id]);
  });

  it('rename, top, diff', () => {
    d.cli([
      'run',
      '-d',
      '--name',
      'old',
      'busybox',
      'sh',
      '-c',
      'echo x > /added; rm /etc/group; sleep 600',
    ]);
    expect(d.cli(['rename', 'old', 'new']).code).toBe(0);
    expect(d.cli(['inspect', '-f', '{{.Name}}', 'new']).stdout.trim()).toBe('/new');
    const top = d.cli(['top', 'new']);
    expect(top.stdout).toMatch(/sleep 600/);
    const diff = d.cli(['diff', 'new']).stdout;
    expect(diff).toMatch(/^A \/added$/m);
    expect(diff).toMatch(/^D \/etc\/group$/m);
    expect(diff).toMatch(/^C \/etc$/m);
    const sizes = JSON.parse(d.cli(['inspect', '-s', 'new']).stdout)[0];
    expect(sizes.SizeRw).toBeGreaterThan(0);
    expect(sizes.SizeRootFs).toBeGreaterThan(sizes.SizeRw);
    expect(d.cli(['ps', '-s', '--format', '{{.Names}} {{.Size}}']).stdout).toMatch(
      /^new \d+B \(virtual [\d.]+MB\)$/m,
    );
    d.cli(['rm', '-f', 'new']);
  });

  it('diff leaves out the mount points the runtime adds to an image lacking them', () => {
    // An image with nothing but busybox: runc creates /proc, /dev, /sys and /etc/hosts… in the
    // container's layer, which Docker keeps in its init layer.
    const tar = spawnSync('tar', ['-cf', '-', '-C', '/', 'bin/busybox'], {
      maxBuffer: 64 * 1024 * 1024,
    }).stdout;
    expect(d.cli(['import', '-', 'bare:1'], { input: tar }).code).toBe(0);
    const id = d.cli(['run', '-d', 'bare:1', '/bin/busybox', 'touch', '/made']).stdout.trim();
    expect(d.cli(['wait', id]).stdout.trim()).toBe('0');
    const diff = d.cli(['diff', id]).stdout.split('\n').filter(Boolean);
    expect(diff).toContain('A /made');
    for (const p of ['/proc', '/dev', '/sys', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'])
      expect(diff).not.toContain(`A ${p}`);
    d.cli(['rm', id]);
    d.cli(['rmi', 'bare:1']);
  });

  it('exec runs in the container, with exit codes and stdin', () => {
    const id = d.cli(['run', '-d', 'busybox', 'sleep', '600']).stdout.trim();
    expect(d.cli(['exec', id, 'echo', 'hi']).stdout).toBe('hi\n');
    expect(d.cli(['exec', id, 'sh', '-c', 'exit 5']).code).toBe(5);
    expect(d.cli(['exec', '-i', id, 'cat'], { input: 'piped\n' }).stdout).toBe('piped\n');
    expect(d.cli(['exec', '-u', 'wharf', '-w', '/tmp', id, 'sh', '-c', 'id -u; pwd']).stdout).toBe(
      '1000\n/tmp\n',
    );
    const r = d.cli(['exec', id, 'nosuch']);
    expect(r.code).toBe(127);
    expect(r.stdout + r.stderr).toMatch(/executable file not found/);
    d.cli(['rm', '-f', id]);
  });

  it('logs: stdout/stderr, tail, timestamps, follow', async () => {
    const id = d
      .cli([
        'run',
        '-d',
        'busybox',
        'sh',
        '-c',
        'for i in 1 2 3; do echo out$i; echo err$i >&2; done',
      ])
      .stdout.trim();
    d.cli(['wait', id]);
    const all = d.cli(['logs', id]);
    expect(all.stdout).toBe('out1\nout2\nout3\n');
    expect(all.stderr).toBe('err1\nerr2\nerr3\n');
    // tail counts lines in the order they were logged, across both streams
    const tail = d.cli(['logs', '--tail', '2', id]);
    expect(tail.stdout + tail.stderr).toMatch(/^(out3\nerr3\n|err3\nout3\n|err2\nerr3\n)$/);
    const so = d.cli(['run', '-d', 'busybox', 'seq', '1', '10']).stdout.trim();
    d.cli(['wait', so]);
    expect(d.cli(['logs', '--tail', '3', so]).stdout).toBe('8\n9\n10\n');
    d.cli(['rm', so]);
    expect(d.cli(['logs', '-t', id]).stdout).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out1$/m,
    );
    d.cli(['rm', id]);
    const f = d
      .cli(['run', '-d', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo second'])
      .stdout.trim();
    expect(d.cli(['logs', '-f', f]).stdout).toBe('first\nsecond\n');
    d.cli(['rm', '-f', f]);
  });

  it('keeps every line of a 200,000-line burst, in order', () => {
    const id = d.cli(['run', '-d', 'busybox', 'sh', '-c', 'seq 1 200000']).stdout.trim();
    d.cli(['wait', id]);
    const out = d.cli(['logs', id]).stdout.split('\n');
    expect(out.length).toBe(200001);
    for (let i = 0; i < 200000; i += 997) expect(out[i]).toBe(String(i + 1));
    expect(out[199999]).toBe('200000');
    d.cli(['rm', id]);
  });

  it('reports errors in docker format', () => {
    const r = d.cli(['start', 'nosuchcontainer']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No such container: nosuchcontainer/);
  });

  it('answers swarm endpoints as a non-swarm node', () => {
    const r = d.cli(['service', 'ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/This node is not a swarm manager/);
  });

  it('streams events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = d.cli(['run', '--name', 'ev1', 'busybox', 'true']).stdout.trim();
    void id;
    const until = Math.floor(Date.now() / 1000) + 1;
    const r = d.cli([
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--filter',
      'container=ev1',
      '--format',
      '{{.Action}}',
    ]);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(
      expect.arrayContaining(['create', 'start', 'die']),
    );
    d.cli(['rm', 'ev1']);
    await eventually(() => true);
  });
});
