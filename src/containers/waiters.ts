/** Pending `wait` calls per container, resolved on the next exit or on removal. */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

interface Waiter {
  condition: WaitCondition;
  resolve: (code: number) => void;
}

export class Waiters {
  private readonly byId = new Map<string, Set<Waiter>>();

  add(id: string, condition: WaitCondition, signal?: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      // An already-aborted signal never fires 'abort' again: refuse now, register nothing.
      if (signal?.aborted) return reject(signal.reason);
      const w: Waiter = { condition, resolve };
      let set = this.byId.get(id);
      if (!set) this.byId.set(id, (set = new Set()));
      set.add(w);
      signal?.addEventListener('abort', () => {
        set.delete(w);
        reject(signal.reason);
      });
    });
  }

  /** The container exited: wake not-running and next-exit waiters. */
  exited(id: string, code: number): void {
    this.fire(id, code, (c) => c !== 'removed');
  }

  removed(id: string, code: number): void {
    this.fire(id, code, () => true);
  }

  private fire(id: string, code: number, which: (c: WaitCondition) => boolean): void {
    const set = this.byId.get(id);
    if (!set) return;
    for (const w of set) {
      if (!which(w.condition)) continue;
      set.delete(w);
      w.resolve(code);
    }
    if (set.size === 0) this.byId.delete(id);
  }
}
