import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { conflict, errorMessage, invalidArgument, notFound, type Logger } from '../common/index.js';
import { frame, pumpStdin, type Conn } from './io.js';
import { encodeFrame, readLogs } from './logs/index.js';
import { startFailureCode } from './service.js';
import { mergeEnv } from './merge.js';
import type { ExecExitPort, RuntimePort } from './ports.js';
import type { ContainerService } from './service.js';
import { resolveUserInRootfs } from './user.js';

interface ExecRecord {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  CanRemove: boolean;
  DetachKeys: string;
  ProcessConfig: {
    tty: boolean;
    entrypoint: string;
    arguments: string[];
    privileged: boolean;
    user: string;
  };
  env: string[];
  workingDir: string;
  started: boolean;
  consoleSize?: { height: number; width: number };
}

export interface ExecCreateBody {
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  DetachKeys?: string;
  /** [height, width] of the client's terminal (API 1.42+), so a tty starts at that size. */
  ConsoleSize?: [number, number] | null;
}

/** A usable [height, width], or undefined. */
function consoleSizeOf(size: unknown): { height: number; width: number } | undefined {
  if (!Array.isArray(size) || size.length !== 2) return undefined;
  const [height, width] = size as unknown[];
  if (typeof height !== 'number' || typeof width !== 'number') return undefined;
  if (!(height > 0 && width > 0)) return undefined;
  return { height: Math.floor(height), width: Math.floor(width) };
}

/**
 * Exec sessions: a process started in a running container's namespaces through the runtime
 * (conmon --exec), with its own log file for output and its own exit file.
 */
export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(
    private readonly svc: ContainerService,
    private readonly runtime: RuntimePort & ExecExitPort,
    private readonly log: Logger,
  ) {}

  private get(execId: string): ExecRecord {
    const e = this.execs.get(execId);
    if (!e) throw notFound(`No such exec instance: ${execId}`, 'ERR_NO_SUCH_EXEC');
    return e;
  }

  async create(ref: string, body: ExecCreateBody): Promise<{ Id: string }> {
    const rec = this.svc.store.get(ref);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Paused)
      throw conflict(`Container ${rec.Id} is paused, unpause the container before exec`);
    if (!Array.isArray(body.Cmd) || body.Cmd.length === 0)
      throw invalidArgument('No exec command specified');
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, {
      ID: id,
      ContainerID: rec.Id,
      Running: false,
      ExitCode: null,
      Pid: 0,
      OpenStdin: body.AttachStdin ?? false,
      OpenStdout: body.AttachStdout ?? false,
      OpenStderr: body.AttachStderr ?? false,
      CanRemove: false,
      DetachKeys: body.DetachKeys ?? '',
      ProcessConfig: {
        tty: body.Tty ?? false,
        entrypoint: body.Cmd[0]!,
        arguments: body.Cmd.slice(1),
        privileged: body.Privileged ?? false,
        user: body.User ?? '',
      },
      env: body.Env ?? [],
      workingDir: body.WorkingDir ?? '',
      started: false,
      consoleSize: consoleSizeOf(body.ConsoleSize),
    });
    this.svc.emit(rec, `exec_create: ${body.Cmd.join(' ')}`, { execID: id });
    return { Id: id };
  }

  isTty(execId: string): boolean {
    return this.get(execId).ProcessConfig.tty;
  }

  inspect(execId: string): Record<string, unknown> {
    const e = this.get(execId);
    const { env: _env, workingDir: _wd, started: _s, consoleSize: _c, ...wire } = e;
    return wire;
  }

  async start(
    execId: string,
    opts: { detach: boolean; tty: boolean; consoleSize?: unknown },
    conn?: Conn,
  ): Promise<void> {
    const e = this.get(execId);
    if (e.started) throw conflict(`Error: Exec command ${execId} has already run`);
    const rec = this.svc.store.get(e.ContainerID);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    e.started = true;
    const dir = path.join(this.svc.bundleDir(rec.Id), 'exec', execId);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const base = JSON.parse(
      await fsp.readFile(path.join(this.svc.bundleDir(rec.Id), 'config.json'), 'utf8'),
    ) as {
      process: Record<string, unknown> & { env?: string[]; capabilities?: unknown };
      root: { path: string };
    };
    // The running container's root as its init sees it (runc may have mounted it in the
    // container's namespace only).
    const rootfs = `/proc/${rec.State.Pid}/root`;
    const user = e.ProcessConfig.user
      ? await resolveUserInRootfs(rootfs, e.ProcessConfig.user)
      : rec.runtime.user;
    const processSpec = {
      ...base.process,
      terminal: opts.tty,
      args: [e.ProcessConfig.entrypoint, ...e.ProcessConfig.arguments],
      env: mergeEnv(base.process.env, e.env),
      cwd: e.workingDir || (base.process['cwd'] as string) || '/',
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      // The client's terminal size (start's, else create's), so that the process does not
      // start at 24x80 and see the resize that follows only later.
      ...(opts.tty
        ? {
            consoleSize: consoleSizeOf(opts.consoleSize) ??
              e.consoleSize ?? { height: 24, width: 80 },
          }
        : {}),
    };
    const logPath = path.join(dir, 'exec.log');
    await fsp.writeFile(logPath, '');
    const startedAt = Date.now() / 1000;
    let pid: number;
    try {
      ({ pid } = await this.runtime.exec({
        id: rec.Id,
        execId,
        process: processSpec,
        logPath,
        tty: opts.tty,
        openStdin: e.OpenStdin,
      }));
    } catch (err) {
      // As Docker: the exec's exit code says why (127 not found, 126 not executable), and on
      // a hijacked stream the error text goes to the client's stdout.
      const message = errorMessage(err);
      e.ExitCode = startFailureCode(err, 126);
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if (opts.detach || !conn) throw err;
      const text = Buffer.from(`OCI runtime exec failed: ${message}\r\n`);
      conn.output.write(opts.tty ? text : encodeFrame(1, text));
      conn.end();
      return;
    }
    e.Running = true;
    e.Pid = pid;
    const cmd = [e.ProcessConfig.entrypoint, ...e.ProcessConfig.arguments].join(' ');
    this.svc.emit(rec, `exec_start: ${cmd}`, { execID: execId });

    const exited = this.runtime.waitExecExit(rec.Id, execId).then(
      async (code) => {
        e.Running = false;
        e.ExitCode = code;
        e.Pid = 0;
        this.svc.emit(rec, 'exec_die', { execID: execId, exitCode: String(code) });
        await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      },
      (err) => this.log.warn({ err, exec: execId }, 'exec exit unknown'),
    );
    if (opts.detach || !conn) return;

    const abort = new AbortController();
    void conn.closed.then(() => abort.abort());
    if (e.OpenStdin && conn.input) {
      const stdin = await this.runtime.openStdin(rec.Id, execId).catch(() => undefined);
      if (stdin) {
        void pumpStdin(conn.input, stdin, { detachKeys: e.DetachKeys, closeOnEof: true }).then(
          (how) => {
            if (how === 'detach') {
              abort.abort();
              conn.end();
            }
          },
        );
      }
    }
    try {
      for await (const entry of readLogs([logPath], {
        follow: true,
        since: startedAt - 1,
        stdout: e.OpenStdout,
        stderr: e.OpenStderr,
        timestamps: false,
        stopped: () => exited,
        signal: abort.signal,
      })) {
        if (!conn.output.destroyed) conn.output.write(frame(opts.tty, entry));
      }
    } catch (err) {
      if (!abort.signal.aborted) this.log.warn({ err, exec: execId }, 'exec stream failed');
    }
    // The CLI inspects the exit code as soon as the stream ends: make sure it is there.
    await exited;
    conn.end();
  }

  async resize(execId: string, height: number, width: number): Promise<void> {
    const e = this.get(execId);
    await this.runtime.resize(e.ContainerID, height, width, execId);
  }

  /** Forget sessions of a removed container. */
  dropContainer(id: string): void {
    for (const [k, e] of this.execs) if (e.ContainerID === id) this.execs.delete(k);
  }
}
