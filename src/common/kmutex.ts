/**
 * A keyed async mutex: operations on one object (a container ID, an image reference) run one
 * at a time, operations on different objects run concurrently.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly counts = new Map<string, number>();

  /** Operations on the key running or queued. */
  pending(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.counts.set(key, this.pending(key) + 1);
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      const n = this.pending(key) - 1;
      if (n > 0) this.counts.set(key, n);
      else this.counts.delete(key);
      release();
      // Drop the entry when nobody queued behind us, so the map does not grow forever.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
