/**
 * Run a command on a pseudo-terminal (util-linux `script`), so that `docker run -t`, `docker
 * exec -t` and `docker attach` see a terminal as they would in a user's shell.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

import { DOCKER_CLI, type CliResult, type DaemonHandle } from './daemon.js';
import { Sink } from './streams.js';

/** Quote for sh. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The docker command line as a shell string, for `script -c`. */
export function dockerLine(args: string[]): string {
  return [DOCKER_CLI, ...args].map(q).join(' ');
}

function env(d: DaemonHandle): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: `unix://${d.socket}`, TERM: 'xterm' };
}

/**
 * Run `shellCmd` on a pty and wait for it. `script -e` returns the command's exit code.
 * Output has the terminal's CRLF line ends.
 */
export function ptyRun(
  d: DaemonHandle,
  shellCmd: string,
  opts: { input?: string; timeoutMs?: number } = {},
): CliResult {
  const r = spawnSync('script', ['-qec', shellCmd, '/dev/null'], {
    env: env(d),
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? 30_000,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout?.toString() ?? '',
    stderr: r.stderr?.toString() ?? '',
  };
}

/** A background client session (on a pty or pipes): write keys, poll the screen, wait for the end. */
export interface PtySession {
  child: ChildProcess;
  /** stdout and stderr together (a pty merges them anyway). */
  out: Sink;
  stdout: Sink;
  stderr: Sink;
  write(data: string | Buffer): void;
  /** Close the client's stdin. */
  endInput(): void;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** SIGKILL the session if it is still running (only the process we started). */
  kill(): void;
}

export function ptySpawn(d: DaemonHandle, shellCmd: string): PtySession {
  return session(
    spawn('script', ['-qefc', shellCmd, '/dev/null'], {
      env: env(d),
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
}

/** The docker CLI run in the background without a terminal (pipes), e.g. `attach`, `logs -f`. */
export function cliSpawn(d: DaemonHandle, args: string[]): PtySession {
  return session(spawn(DOCKER_CLI, args, { env: env(d), stdio: ['pipe', 'pipe', 'pipe'] }));
}

function session(child: ChildProcess): PtySession {
  const out = new Sink();
  const stdout = new Sink();
  const stderr = new Sink();
  child.stdout!.pipe(out.stream, { end: false });
  child.stderr!.pipe(out.stream, { end: false });
  child.stdout!.pipe(stdout.stream);
  child.stderr!.pipe(stderr.stream);
  child.stdin!.on('error', () => undefined); // EPIPE once the client has gone
  let done = false;
  const exited = new Promise<number>((resolve) => {
    // 'close': the exit code and all of the output.
    child.once('close', (code, signal) => {
      done = true;
      resolve(code ?? (signal ? 128 : -1));
    });
  });
  return {
    child,
    out,
    stdout,
    stderr,
    write: (data) => child.stdin!.write(data),
    endInput: () => child.stdin!.end(),
    exited,
    kill: () => {
      if (!done && child.pid) child.kill('SIGKILL');
    },
  };
}
