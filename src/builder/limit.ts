/**
 * A counting semaphore for file work (copies, hashing): enough in flight to keep the disk
 * and the thread pool busy, few enough not to run out of file descriptors. Only leaf
 * operations take a slot, so recursive walks cannot deadlock on it.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
