import { describe, expect, it } from 'vitest';

import { socatStdinArgs } from './attach.js';
import {
  classifyStartError,
  conmonCreateArgs,
  conmonExecArgs,
  conmonPaths,
  type ConmonCreateOptions,
} from './conmon.js';

const base: ConmonCreateOptions = {
  id: 'c1',
  bundle: '/run/wharf/c/c1',
  runcBinary: '/usr/sbin/runc',
  runcRoot: '/run/wharf/runc',
  pidFile: '/run/wharf/c/c1/pid',
  conmonPidFile: '/run/wharf/c/c1/conmon.pid',
  exitDir: '/run/wharf/exits',
  socketDir: '/run/wharf/s',
  persistDir: '/run/wharf/c/c1/persist',
  logPath: '/var/lib/wharf/containers/c1/c1.log',
  tty: false,
  openStdin: false,
};

describe('conmon argv', () => {
  it('creates', () => {
    expect(conmonCreateArgs(base)).toEqual([
      '--api-version', '1',
      '-c', 'c1',
      '-u', 'c1',
      '-n', 'c1',
      '-r', '/usr/sbin/runc',
      '-b', '/run/wharf/c/c1',
      '-p', '/run/wharf/c/c1/pid',
      '-P', '/run/wharf/c/c1/conmon.pid',
      '--exit-dir', '/run/wharf/exits',
      '--persist-dir', '/run/wharf/c/c1/persist',
      '--socket-dir-path', '/run/wharf/s',
      '-l', 'k8s-file:/var/lib/wharf/containers/c1/c1.log',
      '--log-level', 'error',
      '--runtime-arg', '--root',
      '--runtime-arg', '/run/wharf/runc',
      '--runtime-arg', '--log-format=json',
    ]); // prettier-ignore
  });

  it('adds tty, stdin and log size', () => {
    const a = conmonCreateArgs({ ...base, tty: true, openStdin: true, logSizeMax: 1000 });
    expect(a.slice(-5)).toEqual(['--log-size-max', '1000', '-t', '-i', '--leave-stdin-open']);
    expect(conmonCreateArgs({ ...base, openStdin: true, stdinOnce: true }).slice(-1)).toEqual([
      '-i',
    ]);
  });

  it('execs with the container id as cid and the session id as cuuid', () => {
    const a = conmonExecArgs({
      ...base,
      containerId: 'c1',
      execId: 'e1',
      execDir: '/run/wharf/c/c1/exec/e1',
      process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } },
    });
    expect(a.slice(2, 8)).toEqual(['-c', 'c1', '-u', 'e1', '-n', 'e1']);
    expect(a).toContain('/run/wharf/c/c1/exec/e1');
    expect(a.slice(-3)).toEqual([
      '-e',
      '--exec-process-spec',
      '/run/wharf/c/c1/exec/e1/process.json',
    ]);
  });

  it('knows its paths', () => {
    expect(conmonPaths({ socketDir: '/run/wharf/s', cuuid: 'c1', bundle: '/b' })).toEqual({
      attach: '/run/wharf/s/c1/attach',
      ctl: '/b/ctl',
      winsz: '/b/winsz',
    });
    expect(socatStdinArgs('/s/attach')).toEqual(['-t', '1', '-', 'UNIX-CONNECT:/s/attach,type=5']);
  });
});

describe('start errors', () => {
  it("maps to Docker's exit codes", () => {
    expect(classifyStartError('exec: "x": executable file not found in $PATH').exitCode).toBe(127);
    expect(classifyStartError('exec: "/x": stat /x: no such file or directory').exitCode).toBe(127);
    const denied = classifyStartError('exec: "/etc/passwd": permission denied');
    expect(denied.exitCode).toBe(126);
    expect(denied.kind).toBe('invalid-argument');
    expect(classifyStartError('cgroup trouble').exitCode).toBeUndefined();
    expect(classifyStartError('cgroup trouble').kind).toBe('internal');
  });
});
