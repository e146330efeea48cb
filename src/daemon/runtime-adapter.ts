import { watch, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';

import { isErrno, type Logger } from '../common/index.js';
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

  constructor(private readonly o: RuntimeAdapterOptions) {
    this.exitDir = o.exitDir;
    this.runc = new Runc({ binary: o.runcBinary, root: o.runcRoot, logger: o.log });
    this.conmon = new Conmon({ binary: o.conmonBinary, logger: o.log });
  }

  private bundle(id: string): string {
    return path.join(this.o.bundles, id);
  }

  private execDir(id: string, execId: string): string {
    return path.join(this.bundle(id), 'exec', execId);
  }

  private common(dir: string, logPath: string, tty: boolean, openStdin: boolean, exitDir: string) {
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
      stdinOnce: true,
    };
  }

  async create(t: CreateTaskOptions): Promise<{ pid: number; conmonPid: number }> {
    const dir = this.bundle(t.id);
    // A previous run's oom marker must not be taken for this run's.
    await fsp.rm(path.join(dir, 'persist'), { recursive: true, force: true });
    return this.conmon.create({
      ...this.common(dir, t.logPath, t.tty, t.openStdin, this.exitDir),
      id: t.id,
      bundle: t.bundle,
      logSizeMax: t.logSizeMax,
    });
  }

  start = (id: string): Promise<void> => this.runc.start(id);
  kill = (id: string, signal: string, all = false): Promise<void> =>
    this.runc.kill(id, signal, { all });
  pause = (id: string): Promise<void> => this.runc.pause(id);
  resume = (id: string): Promise<void> => this.runc.resume(id);
  ps = (id: string): Promise<number[]> => this.runc.ps(id);

  async delete(id: string): Promise<void> {
    try {
      await this.runc.delete(id, { force: true });
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'not-found') throw err;
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

  async exec(t: ExecTaskOptions & { process?: OciProcess }): Promise<{ pid: number }> {
    const dir = this.execDir(t.id, t.execId);
    const process = JSON.parse(await fsp.readFile(t.processSpecPath, 'utf8')) as OciProcess;
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
