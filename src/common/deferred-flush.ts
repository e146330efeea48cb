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
 * that started after the call has completed (fn marks what it wrote as flushed).
 *
 * The syncfs waits until no writer has been active for `quietMs` (at most `maxDelayMs` after
 * the request): a pull's flush then runs once, after its last layer, instead of competing
 * with the unpacks still writing, and data deleted meanwhile (an image pulled and removed,
 * a build's intermediate layers) is never written at all, as with the kernel's own writeback
 * (which is what dockerd relies on for layer data). FilesystemSync coalesces the rest.
 * `drain()` (clean shutdown) flushes at once and waits for every requested flush.
 *
 * Why deferring is safe: kill -9 of the daemon keeps the page cache, so an atomic rename of a
 * fully written file or directory survives it unflushed. Only a machine crash can tear such
 * a file; the stores record which objects were written in which boot and not yet flushed,
 * and do not trust them after a reboot (see the content and snapshot stores).
 */
export class DeferredFlush {
  private active = 0;
  private lastActive = 0;
  private draining = false;
  private round: { syncing: boolean; done: Promise<void> } | undefined;
  private wake: (() => void) | undefined;
  private readonly tasks = new Set<Promise<void>>();
  private readonly sync: FilesystemSync;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;

  constructor(
    readonly dir: string,
    private readonly logger: Logger | undefined,
    opts: { quietMs?: number; maxDelayMs?: number } = {},
  ) {
    this.sync = new FilesystemSync(dir);
    this.quietMs = opts.quietMs ?? 1_000;
    this.maxDelayMs = opts.maxDelayMs ?? 10_000;
  }

  /** A writer started; call the returned function once it is done (success or not). */
  begin(): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      this.lastActive = Date.now();
      if (this.active === 0) this.wake?.();
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

  /**
   * Resolves after a syncfs that started after this call has completed. Callers share a round
   * (quiet wait, then one syncfs) until its syncfs starts; later callers start the next one.
   */
  flush(): Promise<void> {
    if (this.round === undefined || this.round.syncing) {
      const round = { syncing: false, done: Promise.resolve() };
      round.done = this.quiet(Date.now())
        .then(() => {
          round.syncing = true;
          return this.sync.sync();
        })
        .finally(() => {
          if (this.round === round) this.round = undefined;
        });
      this.round = round;
    }
    return this.round.done;
  }

  /** Flush now and wait for every requested flush (and what runs after it). */
  async drain(): Promise<void> {
    this.draining = true;
    this.wake?.();
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** Until writers have been quiet for quietMs, maxDelayMs have passed, or a drain began. */
  private async quiet(requested: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      const deadline = requested + this.maxDelayMs;
      const quietAt = this.active === 0 ? this.lastActive + this.quietMs : Infinity;
      if (this.draining || now >= Math.min(deadline, quietAt)) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(deadline, quietAt) - now);
        timer.unref();
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}
