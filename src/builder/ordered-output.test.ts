import { describe, expect, it } from 'vitest';

import { OrderedOutput } from './ordered-output.js';

describe('OrderedOutput', () => {
  it('passes the earliest stage live, buffers the others until their turn', () => {
    const out: string[] = [];
    const o = new OrderedOutput([0, 1, 3], (t) => out.push(t));
    const [a, b, c] = [o.writer(0), o.writer(1), o.writer(3)];
    b('b1 ');
    a('a1 ');
    c('c1 ');
    expect(out.join('')).toBe('a1 ');
    o.finish(1); // done early: its text waits for stage 0
    a('a2 ');
    expect(out.join('')).toBe('a1 a2 ');
    o.finish(0); // 1 flushed and finished, so 3 becomes live
    expect(out.join('')).toBe('a1 a2 b1 c1 ');
    c('c2 ');
    o.finish(3);
    expect(out.join('')).toBe('a1 a2 b1 c1 c2 ');
  });

  it('flushes stages up to a failed one', () => {
    const out: string[] = [];
    const o = new OrderedOutput([0, 1, 2], (t) => out.push(t));
    o.writer(0)('a ');
    o.writer(1)('b ');
    o.writer(2)('c ');
    o.flushUpTo(1);
    expect(out.join('')).toBe('a b ');
  });
});
