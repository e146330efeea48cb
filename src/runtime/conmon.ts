/**
 * conmon: the per-container monitor (podman's model). conmon double-forks away from the
 * daemon, runs `runc create` (or `runc exec --detach`), holds the container's stdio, writes
 * the log file, and records the exit code, so a daemon killed with -9 never takes a
 * container with it.
 *
 * Start protocol (conmon 2.1.6, --api-version 1; verified against its source and on this
 * host): the daemon passes two extra fds and names them in the environment,
 * `_OCI_SYNCPIPE=3` and `_OCI_STARTPIPE=4`. conmon blocks on a read of the start pipe (so a
 * caller could first move it to a cgroup), then forks twice; the surviving monitor writes one
 * JSON line on the sync pipe once `runc create` returned: `{"data": <container pid>}`, or
 * `{"data": -1, "message": "<runc stderr>"}` on failure. In exec mode it later writes
 * `{"data": <exit code>}` too; we stop listening after the pid, the exit file is the record.
 *
 * On-disk layout conmon produces (B = bundle for a container, the exec dir for an exec):
 *   <socketDir>/<cuuid>           symlink → B (keeps the socket path under 108 bytes)
 *   <socketDir>/<cuuid>/attach    = B/attach: SOCK_SEQPACKET attach socket. Bytes a client
 *                                 sends go to the container's stdin (with -i); each packet
 *                                 conmon sends back is 1 stream byte (2 = stdout,
 *                                 3 = stderr) + data. A client EOF closes the container's
 *                                 stdin unless --leave-stdin-open. conmon blocks writing to
 *                                 a client that does not read, so clients must drain.
 *   B/ctl                         FIFO, lines "<type> <a> <b>\n": "1 <height> <width>" resizes
 *                                 the tty; "2 0 0" reopens the log file (see reopenLogs).
 *   B/winsz                       FIFO conmon feeds itself from ctl; only read once the tty
 *                                 exists. Callers write ctl, never winsz.
 *   <pidFile>                     container (or exec) process pid, written by runc.
 *   <conmonPidFile>               pid of the long-lived conmon.
 *   <exitDir>/<cid>               exit code as decimal text (128+n for signal n), written
 *                                 atomically when the process is gone and output drained.
 *                                 In exec mode cid is the container's id: one dir per exec.
 *   <persistDir>/exit             the same exit code.
 *   <persistDir>/oom              empty marker created on a memory-cgroup OOM event (v1:
 *                                 cgroup.event_control eventfd). conmon also creates "oom"
 *                                 in its working directory, which we set to persistDir.
 *   <logPath>                     k8s-file log: "<RFC3339Nano> <stdout|stderr> <F|P> <text>"
 *                                 per line, P marking a partial line.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, promises as fsp, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

import { WharfError, conflict, internal, isErrno, type Logger } from '../common/index.js';
import type { OciProcess } from '../oci/index.js';

import { runcErrorMessage } from './runc.js';

export type ConmonLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** What every conmon invocation needs, container or exec. */
interface ConmonCommon {
  /** Path of the runc binary and its state root. */
  runcBinary: string;
  runcRoot: string;
  pidFile: string;
  conmonPidFile: string;
  exitDir: string;
  /** Directory for the attach-socket symlinks (short path: sockets are limited to 108 bytes). */
  socketDir: string;
  persistDir: string;
  /** k8s-file log destination. */
  logPath: string;
  tty: boolean;
  /** Give the process a stdin pipe fed from the attach socket. */
  openStdin: boolean;
  /** Docker's StdinOnce: the first attach client's EOF closes stdin (else it stays open). */
  stdinOnce?: boolean;
  /** Bytes; conmon truncates (does not rotate) the log when it grows past this. */
  logSizeMax?: number;
  logLevel?: ConmonLogLevel;
  /** Run when the process exits (e.g. a daemon hook); argv[0] absolute. */
  exitCommand?: string[];
}

export interface ConmonCreateOptions extends ConmonCommon {
  id: string;
  bundle: string;
}

export interface ConmonExecOptions extends ConmonCommon {
  /** The container to exec in. */
  containerId: string;
  /** Exec session id: conmon's cuuid, names the attach socket dir. */
  execId: string;
  /** Per-exec directory: process.json, ctl/winsz FIFOs, attach socket. */
  execDir: string;
  process: OciProcess;
}

/** Pure argv builder shared by create and exec. */
function commonArgs(o: ConmonCommon, cid: string, cuuid: string, bundle: string): string[] {
  const args = [
    '--api-version',
    '1',
    '-c',
    cid,
    '-u',
    cuuid,
    '-n',
    cuuid,
    '-r',
    o.runcBinary,
    '-b',
    bundle,
    '-p',
    o.pidFile,
    '-P',
    o.conmonPidFile,
    '--exit-dir',
    o.exitDir,
    '--persist-dir',
    o.persistDir,
    '--socket-dir-path',
    o.socketDir,
    '-l',
    `k8s-file:${o.logPath}`,
    '--log-level',
    o.logLevel ?? 'error',
    '--runtime-arg',
    '--root',
    '--runtime-arg',
    o.runcRoot,
    // JSON error lines on runc's stderr, which conmon relays on the sync pipe.
    '--runtime-arg',
    '--log-format=json',
  ];
  if (o.logSizeMax !== undefined && o.logSizeMax > 0)
    args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (o.openStdin) {
    args.push('-i');
    if (!o.stdinOnce) args.push('--leave-stdin-open');
  }
  if (o.exitCommand?.length) {
    args.push('--exit-command', o.exitCommand[0]!);
    for (const a of o.exitCommand.slice(1)) args.push('--exit-command-arg', a);
  }
  return args;
}

/** conmon argv (without the binary) to create a container from a bundle. */
export function conmonCreateArgs(o: ConmonCreateOptions): string[] {
  return commonArgs(o, o.id, o.id, o.bundle);
}

/** conmon argv (without the binary) to run an exec session; process spec at execDir/process.json. */
export function conmonExecArgs(o: ConmonExecOptions): string[] {
  return [
    ...commonArgs(o, o.containerId, o.execId, o.execDir),
    '-e',
    '--exec-process-spec',
    join(o.execDir, 'process.json'),
  ];
}

/** Paths conmon creates for a container or exec (see the layout above). */
export function conmonPaths(o: { socketDir: string; cuuid: string; bundle: string }): {
  attach: string;
  ctl: string;
  winsz: string;
} {
  return {
    attach: join(o.socketDir, o.cuuid, 'attach'),
    ctl: join(o.bundle, 'ctl'),
    winsz: join(o.bundle, 'winsz'),
  };
}

/**
 * A process failed to start inside the container. `exitCode` is what Docker reports for it:
 * 127 when the command is not found, 126 when it cannot be executed; undefined otherwise.
 */
export class RuntimeStartError extends WharfError {
  readonly exitCode?: 126 | 127;
  constructor(message: string, exitCode?: 126 | 127, cause?: unknown) {
    const kind = exitCode ? 'invalid-argument' : 'internal';
    super(kind, exitCode ? 'ERR_START_INVALID_CONFIG' : 'ERR_RUNTIME', message, { cause });
    this.name = 'RuntimeStartError';
    this.exitCode = exitCode;
  }
}

/** Docker's classification of a start failure message (daemon translateContainerdStartErr). */
export function classifyStartError(message: string, cause?: unknown): RuntimeStartError {
  const m = message.toLowerCase();
  let code: 126 | 127 | undefined;
  if (m.includes('executable file not found') || m.includes('no such file or directory'))
    code = 127;
  if (m.includes('permission denied')) code = 126;
  let text = message;
  if (m.includes('not a directory')) {
    text +=
      ': Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';
  }
  return new RuntimeStartError(text, code, cause);
}

export interface ConmonStarted {
  /** Host pid of the container's (or exec's) process. */
  pid: number;
  /** Pid of the long-lived conmon monitor. */
  conmonPid: number;
}

export interface ConmonOptions {
  /** Path of the conmon binary. */
  binary: string;
  logger: Logger;
  /** How long to wait for conmon's sync message (default 60 s). */
  timeoutMs?: number;
}

const CONMON_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Starts containers and exec sessions under conmon. Stateless. */
export class Conmon {
  private readonly binary: string;
  private readonly logger: Logger;
  private readonly timeoutMs: number;

  constructor(opts: ConmonOptions) {
    this.binary = opts.binary;
    this.logger = opts.logger.child({ module: 'conmon' });
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /**
   * `runc create` under conmon. Resolves once the container exists (pid known, process
   * waiting for `runc start`); rejects with a RuntimeStartError carrying runc's message.
   */
  async create(o: ConmonCreateOptions, signal?: AbortSignal): Promise<ConmonStarted> {
    await Promise.all(
      [o.persistDir, o.exitDir, o.socketDir].map((d) => fsp.mkdir(d, { recursive: true })),
    );
    return this.start(conmonCreateArgs(o), o.persistDir, o.conmonPidFile, signal);
  }

  /** An exec session in a running container; its exit code lands in <exitDir>/<containerId>. */
  async exec(o: ConmonExecOptions, signal?: AbortSignal): Promise<ConmonStarted> {
    await fsp.mkdir(o.execDir, { recursive: true });
    await fsp.mkdir(o.persistDir, { recursive: true });
    await fsp.mkdir(o.exitDir, { recursive: true });
    await fsp.mkdir(o.socketDir, { recursive: true });
    await fsp.writeFile(join(o.execDir, 'process.json'), JSON.stringify(o.process), {
      mode: 0o600,
    });
    return this.start(conmonExecArgs(o), o.persistDir, o.conmonPidFile, signal);
  }

  private async start(
    args: string[],
    cwd: string,
    conmonPidFile: string,
    signal?: AbortSignal,
  ): Promise<ConmonStarted> {
    const argv = [this.binary, ...args];
    this.logger.debug({ argv }, 'starting conmon');
    const t0 = performance.now();
    // detached: own session, so signals aimed at the daemon's process group miss conmon.
    const child = spawn(this.binary, args, {
      cwd,
      detached: true,
      env: { PATH: CONMON_PATH_ENV, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    child.unref();
    const sync = child.stdio[3] as Readable;
    const start = child.stdio[4] as Writable;
    const stderr: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    start.on('error', () => {
      /* conmon may have exited already; the sync pipe tells why */
    });

    const fail = (msg: string, cause?: unknown): WharfError =>
      internal(
        `conmon: ${msg}${stderr.length ? `: ${Buffer.concat(stderr).toString().trim()}` : ''}`,
        cause,
      );

    let pid: number;
    let tSync: number;
    try {
      // conmon waits for one byte on the start pipe before forking (podman moves it to a
      // cgroup first; we have nothing to do there).
      start.end(Buffer.from([0]));
      const line = await readLine(sync, this.timeoutMs, signal);
      tSync = performance.now();
      if (line === undefined) throw fail('exited without reporting a pid');
      let msg: { data?: number; message?: string };
      try {
        msg = JSON.parse(line) as { data?: number; message?: string };
      } catch (err) {
        throw fail(`bad sync message ${JSON.stringify(line)}`, err);
      }
      if (typeof msg.data !== 'number' || msg.data <= 0) {
        const text = runcErrorMessage(msg.message ?? '') || `runtime failed (${msg.data})`;
        throw classifyStartError(text);
      }
      pid = msg.data;
    } finally {
      sync.destroy();
      child.stderr!.destroy();
    }
    const conmonPid = Number((await fsp.readFile(conmonPidFile, 'utf8')).trim());
    const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
    this.logger.debug(
      { pid, phases: { sync: ms(t0, tSync), pidFile: ms(tSync, performance.now()) } },
      'conmon timing',
    );
    return { pid, conmonPid };
  }
}

/** Read one '\n'-terminated line; undefined on EOF without one. */
function readLine(
  stream: Readable,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (err: unknown, value?: string): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (b: Buffer): void => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(undefined, buf.slice(0, nl));
    };
    const onEnd = (): void => done(undefined, buf.trim() ? buf : undefined);
    const onError = (e: Error): void => done(e);
    const onAbort = (): void => done(signal?.reason ?? new Error('aborted'));
    const timer = setTimeout(
      () => done(internal(`conmon: no sync message within ${timeoutMs} ms`)),
      timeoutMs,
    );
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The exit code conmon recorded in <exitDir>/<id>, or undefined while the process lives. */
export async function readExitCode(exitDir: string, id: string): Promise<number | undefined> {
  try {
    const text = (await fsp.readFile(join(exitDir, id), 'utf8')).trim();
    if (text === '') return undefined; // not possible with conmon's atomic write; be safe
    return Number.parseInt(text, 10);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** True when conmon saw a memory-cgroup OOM event for the container. */
export async function isOomKilled(persistDir: string): Promise<boolean> {
  try {
    await fsp.access(join(persistDir, 'oom'));
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/**
 * Write one control line to conmon's ctl FIFO; conflict when no conmon is reading it. The
 * calls are synchronous (a non-blocking open and one short write to a pipe, which is atomic
 * below PIPE_BUF): log rotation waits on this, and output keeps coming meanwhile.
 */
async function writeCtl(ctl: string, line: string): Promise<void> {
  let fd: number;
  try {
    // Non-blocking open fails with ENXIO instead of hanging when conmon is gone.
    fd = openSync(ctl, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (isErrno(err, 'ENXIO') || isErrno(err, 'ENOENT')) {
      throw conflict(`container is not running (no monitor on ${ctl})`, 'ERR_NOT_RUNNING');
    }
    throw err;
  }
  try {
    writeSync(fd, line);
  } finally {
    closeSync(fd);
  }
}

/** Resize the tty of a container or exec: "1 <height> <width>" on its ctl FIFO. */
export async function resize(ctl: string, height: number, width: number): Promise<void> {
  const h = Math.max(0, Math.floor(height));
  const w = Math.max(0, Math.floor(width));
  await writeCtl(ctl, `1 ${h} ${w}\n`);
}

/**
 * Ask conmon to reopen its log file ("2 0 0" on ctl). conmon opens a fresh, empty file at
 * the log path (it writes <log>.tmp and renames it over), so rotation is: rename the log
 * away, then call this.
 */
export async function reopenLogs(ctl: string): Promise<void> {
  await writeCtl(ctl, '2 0 0\n');
}
