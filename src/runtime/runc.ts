import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';

import {
  ExecError,
  isErrno,
  WharfError,
  internal,
  run,
  type Logger,
  type RunResult,
} from '../common/index.js';
import type { OciResources } from '../oci/index.js';

/** `runc state` output. */
export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  rootfs: string;
  created: string;
  owner?: string;
  annotations?: Record<string, string>;
}

export interface RuncOptions {
  /** Path of the runc binary. */
  binary: string;
  /** runc's state directory (--root), e.g. /run/wharf/runc. */
  root: string;
  logger: Logger;
}

// ---- argv builders: pure, one per subcommand, after the global flags -----------------------

/** Global flags first: state root, and JSON log lines on stderr so errors can be parsed. */
export function globalArgs(root: string): string[] {
  return ['--root', root, '--log-format', 'json'];
}

export const stateArgs = (id: string): string[] => ['state', id];
export const startArgs = (id: string): string[] => ['start', id];
export const killArgs = (
  id: string,
  signal: string | number,
  opts: { all?: boolean } = {},
): string[] => ['kill', ...(opts.all ? ['--all'] : []), id, String(signal)];
export const deleteArgs = (id: string, opts: { force?: boolean } = {}): string[] => [
  'delete',
  ...(opts.force ? ['--force'] : []),
  id,
];
export const pauseArgs = (id: string): string[] => ['pause', id];
export const resumeArgs = (id: string): string[] => ['resume', id];
export const psArgs = (id: string): string[] => ['ps', '--format', 'json', id];
export const listArgs = (): string[] => ['list', '--format', 'json'];
/** `runc update` reading the OCI resources JSON from stdin. */
export const updateArgs = (id: string): string[] => ['update', '--resources', '-', id];

/** The message of runc's last error log line on stderr ({"level":"error","msg":...}). */
export function runcErrorMessage(stderr: string): string {
  let last = '';
  for (const line of stderr.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    try {
      const rec = JSON.parse(t) as { level?: string; msg?: string };
      if (rec.msg && (rec.level === 'error' || rec.level === 'fatal' || !last)) last = rec.msg;
      continue;
    } catch {
      // Not JSON: the text format (time=... level=error msg="...") or a bare message.
    }
    const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(t);
    last = m ? JSON.parse(`"${m[1]}"`) : t;
  }
  return last;
}

/**
 * Classify a runc failure by its message, as podman's oci_util does: a missing container is
 * not-found, a container in the wrong state is a conflict, anything else is internal. The
 * message is runc's own.
 */
export function runcError(message: string, cause?: unknown): WharfError {
  const msg = message || 'runc failed';
  if (/container does not exist|no such file or directory.*state\.json/.test(msg)) {
    return new WharfError('not-found', 'ERR_RUNC_NOT_FOUND', msg, { cause });
  }
  if (
    /not running|not paused|not stopped|already running|has stopped|stopped container|is paused|container is not|cannot (start|exec|kill|pause|resume)/.test(
      msg,
    )
  ) {
    return new WharfError('conflict', 'ERR_RUNC_STATE', msg, { cause });
  }
  return internal(msg, cause);
}

/**
 * A stateless wrapper over the runc binary: one method per subcommand (containerd's go-runc).
 * Container creation goes through conmon (conmon.ts), not through this class.
 */
export class Runc {
  readonly binary: string;
  readonly root: string;
  private readonly logger: Logger;

  constructor(opts: RuncOptions) {
    this.binary = opts.binary;
    this.root = opts.root;
    this.logger = opts.logger.child({ module: 'runc' });
  }

  /** The argv runc gets for a subcommand (global flags included). */
  argv(sub: string[]): string[] {
    return [this.binary, ...globalArgs(this.root), ...sub];
  }

  private async exec(sub: string[], input?: string): Promise<RunResult> {
    const argv = this.argv(sub);
    try {
      return await run(argv, input === undefined ? {} : { input });
    } catch (err) {
      if (err instanceof ExecError) {
        const e = runcError(runcErrorMessage(err.stderr), err);
        this.logger.debug({ argv, err: e.message }, 'runc failed');
        throw e;
      }
      throw err;
    }
  }

  async state(id: string): Promise<RuncState> {
    const { stdout } = await this.exec(stateArgs(id));
    return JSON.parse(stdout) as RuncState;
  }

  /**
   * Start a created container. What `runc start` does for a container without poststart
   * hooks is read one byte from <root>/<id>/exec.fifo (releasing the init process blocked
   * writing it, which then execs the user's process) and remove the fifo (runc tells
   * "created" from "running" by the fifo's presence). Doing that here saves spawning runc, a
   * Go binary, on every start (5-10 ms). Anything unexpected (no fifo, a dead init) falls
   * back to `runc start`, whose errors are the ones users know.
   */
  async start(id: string, creating?: Promise<unknown>): Promise<void> {
    const how = await startCreated(path.join(this.root, id), creating);
    if (how === 'started') return;
    // A create that failed is the answer, not runc start's "does not exist".
    await creating;
    this.logger.debug({ container: id, how }, 'exec fifo handshake not done; running runc start');
    await this.exec(startArgs(id));
  }

  async kill(id: string, signal: string | number, opts: { all?: boolean } = {}): Promise<void> {
    await this.exec(killArgs(id, signal, opts));
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.exec(deleteArgs(id, opts));
  }

  async pause(id: string): Promise<void> {
    await this.exec(pauseArgs(id));
  }

  async resume(id: string): Promise<void> {
    await this.exec(resumeArgs(id));
  }

  /** Host pids of every process in the container. */
  async ps(id: string): Promise<number[]> {
    const { stdout } = await this.exec(psArgs(id));
    return (JSON.parse(stdout) as number[] | null) ?? [];
  }

  async list(): Promise<RuncState[]> {
    const { stdout } = await this.exec(listArgs());
    return (JSON.parse(stdout || 'null') as RuncState[] | null) ?? [];
  }

  /** Apply new cgroup limits to a running container (`docker update`). */
  async update(id: string, resources: OciResources): Promise<void> {
    await this.exec(updateArgs(id), JSON.stringify(resources));
  }
}

/** How long startCreated waits for a created container's init to write its fifo byte. */
const FIFO_WAIT_MS = 2000;

/**
 * Release a container created by `runc create` (libcontainer 1.1's exec-fifo handshake).
 * The fifo is opened non-blocking, so a missing writer never parks a libuv thread; init,
 * blocked opening the fifo for writing, proceeds as soon as a reader exists and writes "0".
 * Anything but 'started' when the handshake cannot be done here (no fifo, init gone, no byte
 * in time): nothing was changed, and the caller runs `runc start`, which reports why.
 *
 * With `creating` (the `runc create` under way, settling when it has returned), the release
 * is armed before runc is done: the fifo is awaited until runc makes it, and init runs the
 * moment it reaches the fifo, while runc create and conmon are still finishing.
 */
export async function startCreated(
  stateDir: string,
  creating?: Promise<unknown>,
): Promise<'started' | 'no-fifo' | 'init-gone' | 'timeout'> {
  // How `runc create` went (read after awaits: set by the callbacks below).
  const create: { is: 'pending' | 'ok' | 'failed' } = { is: creating ? 'pending' : 'ok' };
  creating?.then(
    () => (create.is = 'ok'),
    () => (create.is = 'failed'),
  );
  const fifo = path.join(stateDir, 'exec.fifo');
  let fh;
  for (;;) {
    // A create that returned during this open may have made the fifo just after it: one more.
    const wasPending = create.is === 'pending';
    try {
      fh = await fsp.open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      break;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      if (create.is === 'failed') return 'init-gone';
      if (create.is === 'ok' && !wasPending) return 'no-fifo';
      if (create.is === 'pending') await new Promise((r) => setTimeout(r, 1));
    }
  }
  try {
    const buf = Buffer.alloc(8);
    const gotByte = async (): Promise<boolean> => {
      try {
        // 0 bytes: no writer yet (init has not reached its open), or it closed without data.
        return (await fh.read(buf, 0, buf.length, null)).bytesRead > 0;
      } catch (err) {
        if (!isErrno(err, 'EAGAIN')) throw err; // a writer exists but has not written yet
        return false;
      }
    };
    let deadline = Date.now() + FIFO_WAIT_MS;
    let initPid: number | undefined;
    for (let round = 0; ; round++) {
      if (await gotByte()) break;
      if (create.is === 'failed') return 'init-gone';
      // Until runc create has returned, its init is on its way to the fifo: no state to check.
      if (create.is === 'pending') {
        deadline = Date.now() + FIFO_WAIT_MS;
        round = 0;
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      if (round > 0 && round % 8 === 0) {
        initPid ??= await initPidOf(stateDir);
        // Init may have written its byte, run the command and exited since the read above
        // (`true` takes well under a millisecond): the byte waits in the pipe, so read again.
        if (!initPid || !(await isLive(initPid))) {
          if (await gotByte()) break;
          return 'init-gone';
        }
      }
      if (Date.now() > deadline) return 'timeout';
      await new Promise((r) => (round < 8 ? setImmediate(r) : setTimeout(r, 1)));
    }
  } finally {
    await fh.close();
  }
  await fsp.rm(fifo, { force: true });
  return 'started';
}

async function initPidOf(stateDir: string): Promise<number | undefined> {
  try {
    const st = JSON.parse(await fsp.readFile(path.join(stateDir, 'state.json'), 'utf8')) as {
      init_process_pid?: number;
    };
    return st.init_process_pid;
  } catch {
    return undefined;
  }
}

/** A process that exists and is not a zombie. */
async function isLive(pid: number): Promise<boolean> {
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
