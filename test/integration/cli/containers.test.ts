/**
 * `wharf` container commands against a real wharfd: run (flags, stdin, exit codes),
 * lifecycle verbs, exec, logs, attach, and the `wharf container …` forms.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { expectSame, ok, startWharf, uniq } from './helpers.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

/** A unique container name, removed (forcibly) when the test ends. */
function name(prefix: string): string {
  const n = uniq(prefix);
  onTestFinished(() => {
    d.cli(['rm', '-f', n]);
  });
  return n;
}

const state = (ref: string, field = 'Status'): string =>
  d.wharf(['inspect', '-f', `{{.State.${field}}}`, ref]).stdout.trim();

/** A shell loop that waits for /go to exist: lets a test decide when the container goes on. */
const AWAIT_GO = 'while [ ! -e /go ]; do sleep 0.05; done';

describe('wharf run', () => {
  it('runs in the foreground with stdout and stderr kept apart, exit 0', () => {
    const r = d.wharf(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect(r).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
  });

  it('returns the exit status of the container (3)', () => {
    const n = name('exit3');
    const r = d.wharf(['run', '--name', n, 'busybox', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(3);
    expect(state(n, 'ExitCode')).toBe('3');
  });

  it('-d prints the full ID and leaves the container running', () => {
    const n = name('detached');
    const id = ok(d.wharf(['run', '-d', '--name', n, 'busybox', 'sleep', '600'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(state(n)).toBe('running');
    expect(d.wharf(['inspect', '-f', '{{.Id}}', n]).stdout.trim()).toBe(id);
  });

  it('--rm removes the container after it exits', async () => {
    const n = uniq('autorm');
    expect(d.wharf(['run', '--rm', '--name', n, 'busybox', 'true']).code).toBe(0);
    await eventually(
      () => d.wharf(['ps', '-aq', '--filter', `name=${n}`]).stdout === '',
      10_000,
      'the --rm container to be gone',
    );
  });

  it('-i passes stdin to the container, and EOF ends it', () => {
    const r = d.wharf(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done'], {
      input: 'line1\nline2\n',
    });
    expect(r).toEqual({ code: 0, stdout: 'line1\nline2\ndone\n', stderr: '' });
  });

  it('without -i the container gets no stdin', () => {
    const r = d.wharf(['run', '--rm', 'busybox', 'sh', '-c', 'cat; echo eof'], {
      input: 'ignored\n',
    });
    expect(r.stdout).toBe('eof\n');
  });

  it('-e, -w, -u and --entrypoint shape the process', () => {
    const env = d.wharf(['run', '--rm', '-e', 'FOO=bar', '-e', 'EMPTY=', 'busybox', 'env']);
    expect(env.stdout).toMatch(/^FOO=bar$/m);
    expect(env.stdout).toMatch(/^EMPTY=$/m);
    const passthrough = d.wharf(['run', '--rm', '-e', 'HOME', 'busybox', 'sh', '-c', 'echo $HOME']);
    expect(passthrough.stdout).toBe(`${process.env['HOME'] ?? '/root'}\n`);
    expect(ok(d.wharf(['run', '--rm', '-w', '/tmp/new', 'busybox', 'pwd']))).toBe('/tmp/new\n');
    expect(ok(d.wharf(['run', '--rm', '-u', '1000:1000', 'busybox', 'id']))).toMatch(
      /^uid=1000\b.* gid=1000\b/,
    );
    expect(ok(d.wharf(['run', '--rm', '--user', 'nobody', 'busybox', 'id', '-un']))).toBe(
      'nobody\n',
    );
    expect(ok(d.wharf(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'a', 'b']))).toBe('a b\n');
    expect(ok(d.wharf(['run', '--rm', '--entrypoint', '', 'busybox', 'echo', 'c']))).toBe('c\n');
  });

  it('--name names the container; a taken name is a conflict (125)', () => {
    const n = name('named');
    ok(d.wharf(['run', '-d', '--name', n, 'busybox', 'sleep', '600']));
    expect(d.wharf(['inspect', '-f', '{{.Name}}', n]).stdout).toBe(`/${n}\n`);
    const r = d.wharf(['run', '--name', n, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(
      new RegExp(
        `^wharf: Error response from daemon: Conflict. The container name "/${n}" is already in use`,
      ),
    );
    expect(r.stderr).toMatch(/Run 'wharf run --help' for more information\n$/);
  });

  it('exit codes: 125 for CLI and daemon errors, 126 not executable, 127 not found', () => {
    const flag = d.wharf(['run', '--no-such-flag', 'busybox']);
    expect(flag.code).toBe(125);
    expect(flag.stderr).toMatch(/^unknown flag: --no-such-flag\n/);
    const image = d.wharf(['run', '--rm', 'no-such-image-xyz']);
    expect(image.code).toBe(125);
    expect(image.stderr).toMatch(/^Unable to find image 'no-such-image-xyz:latest' locally\n/);
    const notExec = d.wharf(['run', '--rm', 'busybox', '/etc']);
    expect(notExec.code).toBe(126);
    expect(notExec.stderr).toMatch(/permission denied/);
    const notFound = d.wharf(['run', '--rm', 'busybox', 'no-such-cmd']);
    expect(notFound.code).toBe(127);
    expect(notFound.stderr).toMatch(/executable file not found in \$PATH/);
    // the same codes as the docker CLI
    for (const args of [
      ['run', '--rm', 'busybox', '/etc'],
      ['run', '--rm', 'busybox', 'no-such-cmd'],
    ]) {
      expect(d.cli(args).code).toBe(d.wharf(args).code);
    }
  });

  it('`wharf container run` is the same command', () => {
    expect(ok(d.wharf(['container', 'run', '--rm', 'busybox', 'echo', 'grouped']))).toBe(
      'grouped\n',
    );
  });
});

describe('lifecycle verbs', () => {
  it('create, start, stop, restart, rm with docker-like output', () => {
    const n = name('life');
    const id = ok(d.wharf(['create', '--name', n, 'busybox', 'sleep', '600'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(state(n)).toBe('created');
    expect(ok(d.wharf(['start', n]))).toBe(`${n}\n`);
    expect(state(n)).toBe('running');
    // sleep as pid 1 ignores SIGTERM: stop escalates to SIGKILL after -t seconds
    expect(ok(d.wharf(['stop', '-t', '1', n]))).toBe(`${n}\n`);
    expect(state(n)).toBe('exited');
    expect(state(n, 'ExitCode')).toBe('137');
    const started = state(n, 'StartedAt');
    expect(ok(d.wharf(['restart', '-t', '0', n]))).toBe(`${n}\n`);
    expect(state(n)).toBe('running');
    expect(state(n, 'StartedAt')).not.toBe(started);
    const rm = d.wharf(['rm', n]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/cannot remove a running container/i);
    expect(ok(d.wharf(['rm', '-f', n]))).toBe(`${n}\n`);
    const gone = d.wharf(['inspect', n]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`Error: No such object: ${n}\n`);
  });

  it('start -a attaches and returns the exit code', () => {
    const n = name('starta');
    ok(d.wharf(['create', '--name', n, 'busybox', 'sh', '-c', 'echo attached; exit 4']));
    const r = d.wharf(['start', '-a', n]);
    expect(r).toEqual({ code: 4, stdout: 'attached\n', stderr: '' });
  });

  it('kill sends signals; wait prints exit codes', () => {
    const n = name('kill');
    ok(
      d.wharf([
        'run',
        '-d',
        '--name',
        n,
        'busybox',
        'sh',
        '-c',
        'trap "exit 42" USR1; while true; do sleep 0.05; done',
      ]),
    );
    expect(ok(d.wharf(['kill', '-s', 'USR1', n]))).toBe(`${n}\n`);
    expect(ok(d.wharf(['wait', n]))).toBe('42\n');
    expectSame(d, ['kill', n]);
    const m = name('kill2');
    ok(d.wharf(['run', '-d', '--name', m, 'busybox', 'sleep', '600']));
    expect(ok(d.wharf(['kill', m]))).toBe(`${m}\n`);
    expect(ok(d.wharf(['wait', m, n]))).toBe('137\n42\n');
  });

  it('wait on a missing container fails like docker', () => {
    expectSame(d, ['wait', 'no-such-container-w']);
  });

  it('rm of several, some missing: removes the rest, exit 1', () => {
    const a = name('rma');
    const b = name('rmb');
    ok(d.wharf(['create', '--name', a, 'busybox', 'true']));
    ok(d.wharf(['create', '--name', b, 'busybox', 'true']));
    const r = d.wharf(['rm', a, 'no-such-rm', b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${a}\n${b}\n`);
    expect(r.stderr).toBe('Error response from daemon: No such container: no-such-rm\n');
    expect(d.wharf(['ps', '-aq', '--filter', `name=${a}`]).stdout).toBe('');
  });

  it('rename, pause/unpause, top, diff', () => {
    const n = name('old');
    const renamed = name('new');
    ok(
      d.wharf([
        'run',
        '-d',
        '--name',
        n,
        'busybox',
        'sh',
        '-c',
        'echo x > /added; rm /etc/group; exec sleep 600',
      ]),
    );
    expect(ok(d.wharf(['rename', n, renamed]))).toBe('');
    expect(d.wharf(['inspect', '-f', '{{.Name}}', renamed]).stdout).toBe(`/${renamed}\n`);
    expect(ok(d.wharf(['pause', renamed]))).toBe(`${renamed}\n`);
    expect(state(renamed)).toBe('paused');
    expect(ok(d.wharf(['unpause', renamed]))).toBe(`${renamed}\n`);
    expect(state(renamed)).toBe('running');
    expect(d.wharf(['top', renamed]).stdout).toMatch(
      /^UID +PID +PPID +C +STIME +TTY +TIME +CMD\n.*sleep 600/,
    );
    // The default columns include C (CPU use), which may change between the two runs.
    expectSame(d, ['top', renamed, '-o', 'uid,pid,ppid,stime,tty,args']);
    expectSame(d, ['top', renamed, '-o', 'pid,args']);
    const diff = ok(d.wharf(['diff', renamed]));
    expect(diff).toMatch(/^A \/added$/m);
    expect(diff).toMatch(/^D \/etc\/group$/m);
    expect(diff).toMatch(/^C \/etc$/m);
    expectSame(d, ['diff', renamed]);
  });

  it('errors on a missing container print like docker', () => {
    for (const verb of ['start', 'stop', 'restart', 'kill', 'rm', 'pause', 'unpause']) {
      expectSame(d, [verb, 'no-such-ctr']);
    }
    expectSame(d, ['rename', 'no-such-ctr', 'whatever']);
    expectSame(d, ['top', 'no-such-ctr']);
    expectSame(d, ['diff', 'no-such-ctr']);
    expectSame(d, ['logs', 'no-such-ctr']);
    expectSame(d, ['exec', 'no-such-ctr', 'true']);
  });

  it('`wharf container …` forms', () => {
    const n = name('grp');
    ok(d.wharf(['container', 'create', '--name', n, 'busybox', 'sleep', '600']));
    expect(ok(d.wharf(['container', 'start', n]))).toBe(`${n}\n`);
    expect(ok(d.wharf(['container', 'ls', '-q', '--filter', `name=${n}`]))).toMatch(
      /^[0-9a-f]{12}\n$/,
    );
    expect(
      ok(d.wharf(['container', 'list', '--format', '{{.Names}}', '--filter', `name=${n}`])),
    ).toBe(`${n}\n`);
    expect(ok(d.wharf(['container', 'inspect', '-f', '{{.State.Running}}', n]))).toBe('true\n');
    expect(ok(d.wharf(['container', 'exec', n, 'echo', 'in']))).toBe('in\n');
    expect(ok(d.wharf(['container', 'top', n]))).toMatch(/sleep 600/);
    expect(ok(d.wharf(['container', 'kill', n]))).toBe(`${n}\n`);
    expect(ok(d.wharf(['container', 'wait', n]))).toBe('137\n');
    expect(ok(d.wharf(['container', 'logs', n]))).toBe('');
    expect(ok(d.wharf(['container', 'remove', n]))).toBe(`${n}\n`);
  });
});

describe('wharf exec', () => {
  it('runs in the container with exit codes, stdin, -u, -w, -e', async () => {
    const n = name('exec');
    ok(d.wharf(['run', '-d', '--name', n, 'busybox', 'sleep', '600']));
    expect(d.wharf(['exec', n, 'echo', 'hi'])).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    expect(d.wharf(['exec', n, 'sh', '-c', 'echo e >&2; exit 5'])).toEqual({
      code: 5,
      stdout: '',
      stderr: 'e\n',
    });
    expect(ok(d.wharf(['exec', '-i', n, 'cat'], { input: 'piped\n' }))).toBe('piped\n');
    expect(ok(d.wharf(['exec', n, 'cat'], { input: 'not passed\n' }))).toBe('');
    expect(ok(d.wharf(['exec', '-u', '1000', '-w', '/tmp', n, 'sh', '-c', 'id -u; pwd']))).toBe(
      '1000\n/tmp\n',
    );
    expect(ok(d.wharf(['exec', '-e', 'X=1', n, 'sh', '-c', 'echo $X']))).toBe('1\n');
    const missing = d.wharf(['exec', n, 'no-such-cmd']);
    expect(missing.code).toBe(127);
    expect(missing.stdout + missing.stderr).toMatch(/executable file not found/);
    expect(d.wharf(['exec', n, '/etc']).code).toBe(126);
    expect(ok(d.wharf(['exec', '-d', n, 'touch', '/detached']))).toBe('');
    await eventually(
      () => d.wharf(['exec', n, 'test', '-e', '/detached']).code === 0,
      10_000,
      'the detached exec to run',
    );
  });

  it('refuses a stopped container like docker', () => {
    const n = name('execstopped');
    ok(d.wharf(['create', '--name', n, 'busybox', 'true']));
    expectSame(d, ['exec', n, 'true']);
  });
});

describe('wharf logs', () => {
  it('prints stdout and stderr apart, --tail, -t, like docker', () => {
    const n = name('logs');
    const run = d.wharf([
      'run',
      '--name',
      n,
      'busybox',
      'sh',
      '-c',
      'for i in 1 2 3; do echo out$i; echo err$i >&2; done',
    ]);
    expect(run.code).toBe(0);
    expect(d.wharf(['logs', n])).toEqual({
      code: 0,
      stdout: 'out1\nout2\nout3\n',
      stderr: 'err1\nerr2\nerr3\n',
    });
    expectSame(d, ['logs', n]);
    expectSame(d, ['logs', '--tail', '2', n]);
    expectSame(d, ['logs', '-n', '0', n]);
    expectSame(d, ['logs', '-t', n]);
    expect(d.wharf(['logs', '-t', n]).stdout).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out1$/m,
    );
  });

  it('-f follows until the container exits', async () => {
    const n = name('follow');
    ok(
      d.wharf([
        'run',
        '-d',
        '--name',
        n,
        'busybox',
        'sh',
        '-c',
        `echo first; ${AWAIT_GO}; echo second`,
      ]),
    );
    const follow = startWharf(d, ['logs', '-f', n]);
    try {
      await follow.waitFor('first\n');
      expect(follow.stdout()).toBe('first\n');
      ok(d.wharf(['exec', n, 'touch', '/go']));
      expect(await follow.exited).toBe(0);
      expect(follow.stdout()).toBe('first\nsecond\n');
    } finally {
      follow.kill();
    }
  });

  it('-f --tail 1 starts from the last line', async () => {
    const n = name('followtail');
    ok(
      d.wharf([
        'run',
        '-d',
        '--name',
        n,
        'busybox',
        'sh',
        '-c',
        `echo a; echo b; ${AWAIT_GO}; echo c`,
      ]),
    );
    await eventually(() => d.wharf(['logs', n]).stdout === 'a\nb\n', 10_000, 'two lines');
    const follow = startWharf(d, ['logs', '-f', '--tail', '1', n]);
    try {
      await follow.waitFor('b\n');
      ok(d.wharf(['exec', n, 'touch', '/go']));
      expect(await follow.exited).toBe(0);
      expect(follow.stdout()).toBe('b\nc\n');
    } finally {
      follow.kill();
    }
  });
});

describe('wharf attach', () => {
  it('attaches stdin and stdout, and returns the exit code', () => {
    // create -i attaches stdin once (StdinOnce): EOF closes the container's stdin, and the
    // output is streamed until the container exits.
    const n = name('attach');
    ok(
      d.wharf([
        'create',
        '-i',
        '--name',
        n,
        'busybox',
        'sh',
        '-c',
        'read line; echo "got $line"; echo bye >&2; exit 7',
      ]),
    );
    const r = d.wharf(['start', '-a', '-i', n], { input: 'hello\n' });
    expect(r).toEqual({ code: 7, stdout: 'got hello\n', stderr: 'bye\n' });
  });

  // As Docker: stdin EOF on a container without StdinOnce ends this attach's streams.
  it('streams output produced after attaching, and EOF on stdin ends it', async () => {
    const n = name('attach2');
    ok(
      d.wharf([
        'run',
        '-d',
        '-i',
        '--name',
        n,
        'busybox',
        'sh',
        '-c',
        'while read line; do echo "echo $line"; done',
      ]),
    );
    const a = startWharf(d, ['attach', n]);
    try {
      a.write('one\n');
      await a.waitFor('echo one\n');
      a.write('two\n');
      await a.waitFor('echo two\n');
      // Docker: EOF ends this attach's streams; the client then waits for the container's exit.
      a.end();
      ok(d.wharf(['kill', n]));
      expect(await a.exited).toBe(137);
    } finally {
      a.kill();
    }
  });

  it('refuses a stopped container like docker', () => {
    const n = name('attachstopped');
    ok(d.wharf(['create', '--name', n, 'busybox', 'true']));
    expectSame(d, ['attach', n]);
  });
});
