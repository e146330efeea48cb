import { describe, expect, it } from 'vitest';

import { Waiters } from './waiters.js';

/** Settled state of a promise, without waiting for it to settle. */
async function state<T>(p: Promise<T>): Promise<'pending' | { value: T } | { error: unknown }> {
  const pending = Symbol('pending');
  try {
    const v = await Promise.race([p, Promise.resolve(pending)]);
    return v === pending ? 'pending' : { value: v as T };
  } catch (error) {
    return { error };
  }
}

describe('Waiters', () => {
  it('wakes not-running and next-exit waiters on exit, removed waiters only on removal', async () => {
    const w = new Waiters();
    const notRunning = w.add('c1', 'not-running');
    const nextExit = w.add('c1', 'next-exit');
    const removed = w.add('c1', 'removed');
    w.exited('c1', 3);
    expect(await state(notRunning)).toEqual({ value: 3 });
    expect(await state(nextExit)).toEqual({ value: 3 });
    expect(await state(removed)).toBe('pending');
    w.removed('c1', 4);
    expect(await state(removed)).toEqual({ value: 4 });
  });

  it('wakes every waiter on removal', async () => {
    const w = new Waiters();
    const all = [w.add('c1', 'not-running'), w.add('c1', 'next-exit'), w.add('c1', 'removed')];
    w.removed('c1', 137);
    expect(await Promise.all(all)).toEqual([137, 137, 137]);
  });

  it('wakes each waiter once and only for its container', async () => {
    const w = new Waiters();
    const a = w.add('a', 'next-exit');
    const b = w.add('b', 'next-exit');
    w.exited('a', 1);
    w.exited('a', 2);
    w.exited('nobody', 5);
    expect(await state(a)).toEqual({ value: 1 });
    expect(await state(b)).toBe('pending');
    const again = w.add('a', 'next-exit');
    expect(await state(again)).toBe('pending');
    w.exited('a', 7);
    expect(await state(again)).toEqual({ value: 7 });
  });

  it('rejects with the abort reason and forgets the waiter', async () => {
    const w = new Waiters();
    const ac = new AbortController();
    const p = w.add('c1', 'next-exit', ac.signal);
    const other = w.add('c1', 'next-exit');
    const reason = new Error('client went away');
    ac.abort(reason);
    expect(await state(p)).toEqual({ error: reason });
    w.exited('c1', 0);
    expect(await state(other)).toEqual({ value: 0 });
  });

  it('rejects at once when the signal is already aborted', async () => {
    const w = new Waiters();
    const reason = new Error('already gone');
    const p = w.add('c1', 'removed', AbortSignal.abort(reason));
    expect(await state(p)).toEqual({ error: reason });
  });
});
