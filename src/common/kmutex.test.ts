import { describe, expect, it } from 'vitest';

import { KeyedMutex } from './kmutex.js';

describe('KeyedMutex', () => {
  it('runs one operation per key at a time, in order, and counts those pending', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    let release!: () => void;
    const first = m.run('a', () =>
      new Promise<void>((r) => (release = r)).then(() => void order.push('1')),
    );
    const second = m.run('a', async () => void order.push('2'));
    const other = m.run('b', async () => void order.push('b'));
    expect(m.pending('a')).toBe(2);
    await other;
    expect(order).toEqual(['b']);
    expect(m.pending('b')).toBe(0);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['b', '1', '2']);
    expect(m.pending('a')).toBe(0);
  });

  it('counts a failed operation out', async () => {
    const m = new KeyedMutex();
    await expect(m.run('a', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(m.pending('a')).toBe(0);
    expect(await m.run('a', async () => 7)).toBe(7);
  });
});
