import { watch, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';

import { isErrno, writeFileAtomic, type Logger } from '../common/index.js';
import type {
  CreateTaskOptions,
  ExecExitPort,
  ExecTaskOptions,
  RuntimePort,
} from '../containers/index.js';
import type { OciProcess } from '../oci/runtime-spec.js';
import {
  attachStdin,
  Conmon,
  conmonPaths,
  isOomKilled,
  readExitCode,
  reopenLogs,
  resize,
  Runc,
} from '../runtime/index.js';
import { CgroupLockWarmer } from '../runtime/cgroup-warm.js';
import { releaseSpecFifo, SpecFifos, writeToFifo } from '../runtime/spec-fifo.js';

export interface RuntimeAdapterOptions {
  runcBinary: string;
  conmonBinary: string;
  runcRoot: string;
  /** exec-root/containers: one bundle dir per container. */
  bundles: string;
  /** exec-root/exits: conmon drops container exit files here. */
  exitDir: string;
  /** Short directory for conmon's attach-socket symlinks. */
  socketDir: string;
  /** Spare FIFOs for config.json (see SpecFifos), on the bundles' filesystem; none if unset. */
  specFifoDir?: string;
  log: Logger;
}

/**
 * runc under conmon, as the container service's RuntimePort. Paths per container:
 * <bundles>/<id>/{config.json,rootfs,pid,conmon.pid,persist/,ctl}, exec sessions under
 * <bundles>/<id>/exec/<execId>/ with their own exit dir.
 */
export class RuntimeAdapter implements RuntimePort, ExecExitPort {
  readonly exitDir: string;
  private readonly runc: Runc;
  private readonly conmon: Conmon;
  private readonly specFifos?: SpecFifos;
  private warmer?: CgroupLockWarmer;

  constructor(private readonly o: RuntimeAdapterOptions) {
    this.exitDir = o.exitDir;
    if (o.specFifoDir) this.specFifos = new SpecFifos(o.specFifoDir, o.log);
    this.runc = new Runc({ binary: o.runcBinary, root: o.runcRoot, logger: o.log });
    this.conmon = new Conmon({ binary: o.conmonBinary, logger: o.log });
  }

  /**
   * Make the first spare spec FIFOs (a previous daemon's are removed), and free any runc a
   * previous daemon left waiting on a spec FIFO: one that died between spawning conmon and
   * writing the spec leaves runc blocked opening config.json, which nothing else will end.
   */
  async init(): Promise<void> {
    const [, warmer] = await Promise.all([
      this.specFifos?.init(),
      process.env['WHARF_NO_CGROUP_WARM'] ? undefined : CgroupLockWarmer.open(this.o.log),
    ]);
    this.warmer = warmer;
    let ids: string[];
    try {
      ids = await fsp.readdir(this.o.bundles);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    for (const id of ids) {
      const config = path.join(this.o.bundles, id, 'config.json');
      if (await releaseSpecFifo(config)) {
        this.o.log.warn({ container: id }, 'released a runc left waiting for its spec');
      }
    }
    // Attach-socket links whose bundle is gone (containers removed by an older daemon).
    const links = await fsp.readdir(this.o.socketDir).catch(() => [] as string[]);
    const bundles = new Set(ids);
    for (const link of links) {
      if (!bundles.has(link)) await fsp.rm(path.join(this.o.socketDir, link), { force: true });
    }
  }

  close(): void {
    this.specFifos?.close();
  }

  warmCgroups(): void {
    this.warmer?.warm();
  }

  private bundle(id: string): string {
    return path.join(this.o.bundles, id);
  }

  private execDir(id: string, execId: string): string {
    return path.join(this.bundle(id), 'exec', execId);
  }

  private common(
    dir: string,
    logPath: string,
    tty: boolean,
    openStdin: boolean,
    exitDir: string,
    stdinOnce = true,
  ) {
    return {
      runcBinary: this.o.runcBinary,
      runcRoot: this.o.runcRoot,
      pidFile: path.join(dir, 'pid'),
      conmonPidFile: path.join(dir, 'conmon.pid'),
      exitDir,
      socketDir: this.o.socketDir,
      persistDir: path.join(dir, 'persist'),
      logPath,
      tty,
      openStdin,
      stdinOnce,
    };
  }

  /**
   * `runc create` under conmon. With a spare FIFO for config.json (see SpecFifos), conmon is
   * spawned at once and the spec written into the FIFO when it is ready; without one, the
   * spec is written as a file first.
   */
  async create(t: CreateTaskOptions): Promise<{ pid: number; conmonPid: number }> {
    const dir = this.bundle(t.id);
    const config = path.join(t.bundle, 'config.json');
    const [fifo] = await Promise.all([
      fsp.mkdir(t.bundle, { recursive: true, mode: 0o700 }).then(() =>
        this.specFifos?.take(config).catch((err: unknown) => {
          this.o.log.debug({ err, container: t.id }, 'no spec fifo');
          return undefined;
        }),
      ),
      // A previous run's oom marker must not be taken for this run's.
      fsp.rm(path.join(dir, 'persist'), { recursive: true, force: true }),
    ]);
    const run = (): Promise<{ pid: number; conmonPid: number }> =>
      this.conmon.create({
        ...this.common(dir, t.logPath, t.tty, t.openStdin, this.exitDir, t.stdinOnce),
        id: t.id,
        bundle: t.bundle,
        logSizeMax: t.logSizeMax,
      });
    if (!fifo) {
      // Read once by `runc create` just below; a crash before that leaves nothing using it,
      // and the next start rewrites it: no fsync.
      await writeFileAtomic(config, await t.spec, 0o600, { durable: false });
      this.warmer?.warm();
      const started = run();
      t.onSpec?.();
      return started;
    }
    // The file that takes the FIFO's place once runc has read it (exec reads it later):
    // written while runc works, renamed over the FIFO once runc create has returned.
    const next = `${config}.next`;
    let written: Promise<void> | undefined;
    try {
      const started = run();
      // Settled either way below; a rejection is the answer only once the spec went out.
      started.catch(() => undefined);
      try {
        const spec = await t.spec;
        // runc moves the container's init into its cgroups ~10 ms from now.
        this.warmer?.warm();
        await writeToFifo(fifo, Buffer.from(spec), started);
        written = fsp.writeFile(next, spec, { mode: 0o600 });
        written.catch(() => undefined);
      } catch (err) {
        // No spec for runc: with the FIFO gone from the bundle an open still to come fails,
        // and one made already reads EOF once our end closes; conmon reports and goes.
        await fsp.rm(config, { force: true });
        await fifo.close();
        await started.catch(() => undefined);
        throw err;
      }
      t.onSpec?.();
      return await started;
    } finally {
      await fifo.close().catch(() => undefined);
      if (written) await written.then(() => fsp.rename(next, config));
      else await fsp.rm(config, { force: true });
    }
  }

  start = (id: string, creating?: Promise<unknown>): Promise<void> => this.runc.start(id, creating);
  kill = (id: string, signal: string, all = false): Promise<void> =>
    this.runc.kill(id, signal, { all });
  pause = (id: string): Promise<void> => this.runc.pause(id);
  resume = (id: string): Promise<void> => this.runc.resume(id);
  ps = (id: string): Promise<number[]> => this.runc.ps(id);

  async delete(id: string): Promise<void> {
    await this.deleteTask(id);
  }

  /** delete(), saying whether the runtime had the task at all ('gone' when it had not). */
  private async deleteTask(id: string): Promise<'gone' | 'done' | 'runc'> {
    const t0 = performance.now();
    const how = await this.deleteStopped(id).catch((err: unknown) => {
      this.o.log.debug({ err, container: id }, 'in-process delete failed; using runc');
      return 'runc' as const;
    });
    if (how === 'runc') {
      try {
        await this.runc.delete(id, { force: true });
      } catch (err) {
        if ((err as { kind?: string }).kind !== 'not-found') throw err;
      }
    }
    this.o.log.debug(
      { container: id, how, ms: Math.round((performance.now() - t0) * 10) / 10 },
      'delete timing',
    );
    return how;
  }

  /**
   * `runc delete` of a stopped container without spawning runc (a Go binary: 5-10 ms of
   * startup, more under load, on every exit and every remove). For a container that had its
   * own PID namespace (so nothing outlives its init) and no poststop hooks, runc 1.1's
   * destroy() only removes the container's cgroup directories and then its state directory;
   * this does the same, in the same order, so a crash half-way leaves a state directory that
   * a later delete (ours or runc's, both ignore missing cgroups) finishes. Anything else — a
   * live init, a shared PID namespace, hooks, Intel RDT, a cgroup with children — is left to
   * runc. Returns 'gone' when runc knows no such container.
   */
  private async deleteStopped(id: string): Promise<'gone' | 'done' | 'runc'> {
    const dir = path.join(this.o.runcRoot, id);
    let st: RuncStateFile;
    try {
      st = JSON.parse(await fsp.readFile(path.join(dir, 'state.json'), 'utf8')) as RuncStateFile;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 'gone';
      return 'runc';
    }
    const ns = st.config?.namespaces ?? [];
    const ownPidNs = ns.some((n) => n.type === 'NEWPID' && !n.path);
    const hooks = st.config?.hooks?.poststop ?? st.config?.Hooks?.poststop;
    if (!ownPidNs || (hooks && hooks.length > 0) || st.intel_rdt_path || !st.cgroup_paths)
      return 'runc';
    if (await processAlive(st.init_process_pid, st.init_process_start)) return 'runc';
    for (const p of Object.values(st.cgroup_paths)) {
      if (!(await rmdirRetry(p))) return 'runc';
    }
    await fsp.rm(dir, { recursive: true, force: true });
    return 'done';
  }

  /**
   * Take down a task whose process never ran or must not be waited for: delete it (runc kills
   * a created container's init), then let its conmon write the exit file and go, and remove
   * that file. Otherwise the file could land after the container's next start had cleared
   * the old one, and be taken for that run's exit.
   */
  async discard(id: string): Promise<void> {
    const pidText = await fsp
      .readFile(path.join(this.bundle(id), 'conmon.pid'), 'utf8')
      .catch(() => '');
    const conmonPid = Number(pidText.trim());
    const started = conmonPid > 0 ? await processStart(conmonPid) : undefined;
    // No task (runc create failed, or it was deleted already): no exit file is coming.
    if ((await this.deleteTask(id)) !== 'gone' && started !== undefined) {
      const deadline = Date.now() + DISCARD_WAIT_MS;
      while (Date.now() < deadline && (await processAlive(conmonPid, started))) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await this.clearExit(id);
  }

  /** conmon's attach-socket link, `<socketDir>/<id>` (conmon makes it at each create). */
  async forget(id: string): Promise<void> {
    await fsp.rm(path.join(this.o.socketDir, id), { force: true });
  }

  async taskIds(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.o.runcRoot)).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
  }

  async hasTask(id: string): Promise<boolean> {
    try {
      await fsp.access(path.join(this.o.runcRoot, id, 'state.json'));
      return true;
    } catch {
      return false;
    }
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      const s = await this.runc.state(id);
      return { status: s.status, pid: s.pid };
    } catch (err) {
      if ((err as { kind?: string }).kind === 'not-found') return undefined;
      throw err;
    }
  }

  async exec(t: ExecTaskOptions): Promise<{ pid: number }> {
    // runc exec moves the exec's process into the container's cgroups.
    this.warmer?.warm();
    const dir = this.execDir(t.id, t.execId);
    // conmon reads the spec from <execDir>/process.json, which Conmon.exec writes.
    const process = t.process as OciProcess;
    const started = await this.conmon.exec({
      ...this.common(dir, t.logPath, t.tty, t.openStdin, path.join(dir, 'exit')),
      containerId: t.id,
      execId: t.execId,
      execDir: dir,
      process,
    });
    return { pid: started.pid };
  }

  exitCode = (id: string): Promise<number | undefined> => readExitCode(this.exitDir, id);

  async exitFileTime(id: string): Promise<Date | undefined> {
    try {
      return (await fsp.stat(path.join(this.exitDir, id))).mtime;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async clearExit(id: string): Promise<void> {
    await fsp.rm(path.join(this.exitDir, id), { force: true });
  }

  oomKilled = (id: string): Promise<boolean> => isOomKilled(path.join(this.bundle(id), 'persist'));

  async resize(id: string, height: number, width: number, execId?: string): Promise<void> {
    const dir = execId ? this.execDir(id, execId) : this.bundle(id);
    await resize(
      conmonPaths({ socketDir: this.o.socketDir, cuuid: execId ?? id, bundle: dir }).ctl,
      height,
      width,
    );
  }

  reopenLogs = (id: string): Promise<void> => reopenLogs(path.join(this.bundle(id), 'ctl'));

  async openStdin(id: string, execId?: string): Promise<Writable> {
    const dir = execId ? this.execDir(id, execId) : this.bundle(id);
    const { attach } = conmonPaths({
      socketDir: this.o.socketDir,
      cuuid: execId ?? id,
      bundle: dir,
    });
    return attachStdin(attach).stdin;
  }

  /** An exec's exit file appears in its own exit dir, named after the container. */
  async waitExecExit(id: string, execId: string, signal?: AbortSignal): Promise<number> {
    const exitDir = path.join(this.execDir(id, execId), 'exit');
    await fsp.mkdir(exitDir, { recursive: true });
    return new Promise<number>((resolve, reject) => {
      let done = false;
      const check = async (): Promise<void> => {
        if (done) return;
        const code = await readExitCode(exitDir, id).catch(() => undefined);
        if (code === undefined || done) return;
        done = true;
        watcher.close();
        clearInterval(poll);
        resolve(code);
      };
      const watcher = watch(exitDir, () => void check());
      watcher.on('error', () => undefined);
      const poll = setInterval(() => void check(), 1000);
      signal?.addEventListener('abort', () => {
        done = true;
        watcher.close();
        clearInterval(poll);
        reject(signal.reason);
      });
      void check();
    });
  }
}

/** The fields of runc's <root>/<id>/state.json that deleteStopped reads (runc 1.1). */
interface RuncStateFile {
  init_process_pid?: number;
  init_process_start?: number | string;
  cgroup_paths?: Record<string, string>;
  intel_rdt_path?: string;
  config?: {
    namespaces?: { type: string; path?: string }[];
    hooks?: { poststop?: unknown[] | null } | null;
    Hooks?: { poststop?: unknown[] | null } | null;
  };
}

/** True while the process with this pid and start time (/proc/<pid>/stat field 22) exists. */
/** How long discard() waits for a discarded task's conmon to go. */
const DISCARD_WAIT_MS = 2000;

/** A process's start time (field 22 of /proc/<pid>/stat), undefined if it is gone. */
async function processStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function processAlive(pid?: number, start?: number | string): Promise<boolean> {
  if (!pid || pid <= 0) return false;
  let stat: string;
  try {
    stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return false;
    throw err;
  }
  // Fields after the command (which may hold spaces and parentheses) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return start === undefined || fields[19] === String(start);
}

/**
 * rmdir a cgroup directory; a cgroup whose last task is still being torn down reports EBUSY
 * for a moment, so retry briefly (as runc does). False when it cannot be removed (children,
 * or still busy): the caller hands over to runc.
 */
async function rmdirRetry(dir: string): Promise<boolean> {
  for (let delay = 2; ; delay *= 2) {
    try {
      await fsp.rmdir(dir);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return true;
      if (!isErrno(err, 'EBUSY') || delay > 32) return false;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
