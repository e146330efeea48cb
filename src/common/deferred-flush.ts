import { promises as fsp } from 'node:fs';

import { FilesystemSync } from './fs.js';
import type { Logger } from './logger.js';

/** Where Linux names the current boot; a new random UUID at every boot. */
export const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/** The id of the running boot (tests may point `file` elsewhere to fake a reboot). */
export async function readBootId(file = BOOT_ID_FILE): Promise<string> {
  const id = (await fsp.readFile(file, 'utf8')).trim();
  if (id === '') throw new Error(`${file} is empty`);
  return id;
}

/**
 * Flushes of one filesystem taken off the request's path. Writers (an ingest, an unpack)
 * announce themselves with `begin()`; `after(fn)` asks for a syncfs and runs `fn` once one
 * that started after the call has completed (fn marks what it wrote as flushed). The syncfs
 * waits until no writer is active (at most `maxWaitMs`), so a pull's flush runs once, after
 * its last layer, instead of competing with the unpacks still writing; FilesystemSync
 * coalesces the rest. `drain()` (clean shutdown) waits for every requested flush and marker.
 *
 * Why deferring is safe: kill -9 of the daemon keeps the page cache, so an atomic rename of a
 * fully written file or directory survives it unflushed. Only a machine crash can tear such
 * a file; the stores record which objects were written in which boot and not yet flushed,
 * and do not trust them after a reboot (see the content and snapshot stores).
 */
export class DeferredFlush {
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly tasks = new Set<Promise<void>>();
  private readonly sync: FilesystemSync;

  constructor(
    readonly dir: string,
    private readonly logger: Logger | undefined,
    private readonly maxWaitMs = 2_000,
  ) {
    this.sync = new FilesystemSync(dir);
  }

  /** A writer started; call the returned function once it is done (success or not). */
  begin(): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
  }

  /** Request a flush; run `fn` after it. Failures are logged: the object stays unflushed. */
  after(what: string, fn: () => Promise<void>): void {
    const task = this.flush()
      .then(fn)
      .catch((err: unknown) => this.logger?.warn({ err, what }, 'background flush failed'))
      .finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  /** Resolves after a syncfs that started after this call has completed. */
  async flush(): Promise<void> {
    await this.idle();
    await this.sync.sync();
  }

  /** Wait for every requested flush (and what runs after it). */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.maxWaitMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
