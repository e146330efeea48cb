import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

describe('docker run through wharfd', () => {
  it('runs a command and prints its output', () => {
    const r = d.cli(['run', '--rm', 'busybox', 'echo', 'hello', 'wharf']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello wharf\n');
    expect(r.code).toBe(0);
  });

  it("returns the container's exit code", () => {
    expect(d.cli(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']).code).toBe(3);
  });

  it("exits 127 with docker's message when the command does not exist", () => {
    const r = d.cli(['run', '--rm', 'busybox', 'no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/executable file not found/);
  });

  it('exits 126 when the command cannot be executed', () => {
    const r = d.cli(['run', '--rm', 'busybox', '/etc/passwd']);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/permission denied/);
  });

  it('exits 125 for daemon errors (unknown image)', () => {
    const r = d.cli(['run', '--rm', '--pull', 'never', 'no-such-image:1']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/No such image: no-such-image:1/);
  });

  it('keeps stdout and stderr apart', () => {
    const r = d.cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('feeds stdin with -i', () => {
    const r = d.cli(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], {
      input: 'line1\nline2\n',
    });
    expect(r.stdout).toBe('line1\nline2\ndone\n');
    expect(r.code).toBe(0);
  });

  it('passes env, workdir (created if missing), user and hostname', () => {
    const r = d.cli([
      'run',
      '--rm',
      '-e',
      'FOO=bar',
      '-w',
      '/new/dir',
      '-u',
      'wharf',
      '--hostname',
      'myhost',
      'busybox',
      'sh',
      '-c',
      'echo $FOO; pwd; id -u; id -g; hostname; cat /etc/hostname',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('bar\n/new/dir\n1000\n1000\nmyhost\nmyhost\n');
  });

  it('uses the 12-character ID prefix as default hostname', () => {
    const id = d.cli(['run', '-d', 'busybox', 'hostname']).stdout.trim();
    expect(d.cli(['wait', id]).stdout.trim()).toBe('0');
    expect(d.cli(['logs', id]).stdout).toBe(`${id.slice(0, 12)}\n`);
    d.cli(['rm', id]);
  });

  it('resolves -u uid:gid and supplementary groups from /etc/group', () => {
    expect(d.cli(['run', '--rm', '-u', '1234:5678', 'busybox', 'id']).stdout).toMatch(
      /uid=1234 gid=5678/,
    );
    const r = d.cli(['run', '--rm', '-u', 'nosuchuser', 'busybox', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unable to find user nosuchuser/);
  });

  it('honours --entrypoint and env files', () => {
    const r = d.cli(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint']);
    expect(r.stdout).toBe('from entrypoint\n');
  });

  it('runs --init with an init process as pid 1', () => {
    const r = d.cli(['run', '--rm', '--init', 'busybox', 'ps', '-o', 'pid,comm']);
    expect(r.stdout).toMatch(/1\s+(docker-init|tini|catatonit)/);
  });

  it('gives --tmpfs and --read-only', () => {
    const r = d.cli([
      'run',
      '--rm',
      '--read-only',
      '--tmpfs',
      '/scratch',
      'busybox',
      'sh',
      '-c',
      'touch /scratch/ok && echo tmpfs-ok; touch /nope 2>&1 || echo ro-ok',
    ]);
    expect(r.stdout).toMatch(/tmpfs-ok/);
    expect(r.stdout).toMatch(/ro-ok/);
    expect(r.stdout).toMatch(/Read-only file system/);
  });

  it('has /dev/shm of 64 MB by default and --shm-size', () => {
    expect(d.cli(['run', '--rm', 'busybox', 'df', '-k', '/dev/shm']).stdout).toMatch(/65536/);
    expect(
      d.cli(['run', '--rm', '--shm-size', '128m', 'busybox', 'df', '-k', '/dev/shm']).stdout,
    ).toMatch(/131072/);
  });
});
