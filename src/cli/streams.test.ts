import { describe, expect, it } from 'vitest';

import { EscapeDetector, parseDetachKeys } from './streams.js';

describe('detach keys', () => {
  it('parses docker key specs', () => {
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual([16, 17]);
    expect(parseDetachKeys('a,ctrl-@,ctrl-[')).toEqual([97, 0, 27]);
    expect(() => parseDetachKeys('ctrl-1x')).toThrow('Invalid detach keys');
  });

  it('holds back a possible sequence start and detects the sequence', () => {
    const d = new EscapeDetector([16, 17]);
    expect(d.feed(Buffer.from('ab\x10'))).toEqual({ forward: Buffer.from('ab'), detached: false });
    expect(d.feed(Buffer.from('c'))).toEqual({ forward: Buffer.from('\x10c'), detached: false });
    expect(d.feed(Buffer.from('x\x10\x11y'))).toEqual({
      forward: Buffer.from('x'),
      detached: true,
    });
  });
});
