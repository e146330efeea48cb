import { watch, type FSWatcher, promises as fsp } from 'node:fs';

import type { Logger } from '../common/index.js';
import type { RuntimePort } from './ports.js';
import type { ContainerService } from './service.js';

/**
 * Notices container exits: conmon drops `<exitDir>/<id>` when a container's process ends.
 * Watching the directory (inotify) costs nothing per container; a slow poll covers missed
 * events. On daemon start, `reconcile` settles every record against what really runs.
 */
export class ExitMonitor {
  private watcher?: FSWatcher;
  private poller?: NodeJS.Timeout;

  constructor(
    private readonly svc: ContainerService,
    private readonly runtime: RuntimePort,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await fsp.mkdir(this.runtime.exitDir, { recursive: true });
    this.watcher = watch(this.runtime.exitDir, (_event, name) => {
      if (name && /^[0-9a-f]{64}$/.test(name)) this.handle(name);
    });
    this.watcher.on('error', (err) => this.log.error({ err }, 'exit watcher failed'));
    this.poller = setInterval(() => void this.scan(), 5000);
    this.poller.unref();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poller);
  }

  private handle(id: string): void {
    this.svc
      .handleExit(id)
      .catch((err) => this.log.error({ err, container: id }, 'handling exit failed'));
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.runtime.exitDir);
    } catch {
      return;
    }
    for (const n of names) if (/^[0-9a-f]{64}$/.test(n)) this.handle(n);
  }

  /**
   * At start: containers recorded as running either still run (re-adopted: nothing to do, the
   * monitor keeps them), ended while we were down (exit file: record the code), or vanished
   * (no runtime state: recorded as exited with 255 as Docker does for lost containers).
   */
  async reconcile(): Promise<void> {
    for (const id of await this.svc.reapOrphans().catch((err: unknown) => {
      this.log.error({ err }, 'reaping orphaned tasks failed; continuing');
      return [];
    })) {
      this.log.warn({ container: id }, 'removed the task or bundle of a container with no record');
    }
    for (const rec of this.svc.store.all()) {
      try {
        if (rec.State.Status === 'removing') {
          await this.svc.remove(rec.Id, { force: true });
          continue;
        }
        if (!rec.State.Running) {
          if (await this.svc.reapLeftoverTask(rec.Id)) {
            this.log.warn({ container: rec.Id }, 'removed a task left by an interrupted start');
          }
          // Mounted at create, or by a start the daemon died in: the next start mounts anew.
          await this.svc.releaseIdleMount(rec.Id);
          continue;
        }
        const code = await this.runtime.exitCode(rec.Id);
        const st = await this.runtime.state(rec.Id);
        if (code !== undefined || !st || st.status === 'stopped' || st.status === 'created') {
          if (st?.status === 'created')
            await this.runtime.kill(rec.Id, 'SIGKILL').catch(() => undefined);
          await this.svc.handleExit(rec.Id);
          continue;
        }
        const paused = st.status === 'paused';
        if (rec.State.Paused !== paused) {
          rec.State.Paused = paused;
          rec.State.Status = paused ? 'paused' : 'running';
          await this.svc.store.save(rec);
        }
        this.log.info({ container: rec.Id }, 're-adopted running container');
      } catch (err) {
        this.log.error({ err, container: rec.Id }, 'reconcile failed; continuing');
      }
    }
  }
}
