import { describe, expect, it } from 'vitest';

import { CoalescingWriter } from './store.js';

describe('CoalescingWriter', () => {
  it('syncs a shared write when any of its callers asks, and only then', async () => {
    const writes: boolean[] = [];
    const w = new CoalescingWriter(async (durable) => {
      writes.push(durable);
    });
    await w.save({ durable: false });
    const lazy = w.save({ durable: false });
    const strict = w.save();
    expect(lazy).toBe(strict);
    await strict;
    await w.save({ durable: false });
    expect(writes).toEqual([false, true, false]);
  });

  it('coalesces saves that arrive during a write into one more write', async () => {
    let state = 0;
    const written: number[] = [];
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const w = new CoalescingWriter(async () => {
      const snap = state;
      await gate;
      written.push(snap);
    });
    state = 1;
    const first = w.save();
    await Promise.resolve();
    await Promise.resolve();
    // The first write has taken its snapshot; these three share the next write.
    state = 2;
    const a = w.save();
    state = 3;
    const b = w.save();
    const c = w.save();
    expect(a).toBe(b);
    expect(b).toBe(c);
    const firstGate = release;
    gate = new Promise<void>((r) => (release = r));
    firstGate();
    await first;
    release();
    await Promise.all([a, b, c]);
    expect(written).toEqual([1, 3]);
  });

  it('reports a failed write to its callers and recovers for the next', async () => {
    let fail = true;
    const w = new CoalescingWriter(async () => {
      if (fail) throw new Error('disk full');
    });
    await expect(w.save()).rejects.toThrow('disk full');
    fail = false;
    await expect(w.save()).resolves.toBeUndefined();
  });
});
