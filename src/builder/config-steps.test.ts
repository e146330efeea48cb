import { describe, expect, it } from 'vitest';

import { goDuration, goList, goQuoteRune } from './config-steps.js';

describe('Go formatting in history lines', () => {
  it.each([
    [0, '0s'],
    [500e6, '500ms'],
    [1.5e9, '1.5s'],
    [7e9, '7s'],
    [90e9, '1m30s'],
    [3600e9, '1h0m0s'],
    [3723e9, '1h2m3s'],
    [1500, '1.5µs'],
  ])('duration %d ns is %s', (ns, text) => expect(goDuration(ns)).toBe(text));

  it.each([
    [0, "'\\x00'"],
    [4, "'\\x04'"],
    [9, "'\\t'"],
    [10, "'\\n'"],
    [65, "'A'"],
    [39, "'\\''"],
    [127, "'\\x7f'"],
  ])('retries %d print as %s', (n, text) => expect(goQuoteRune(n)).toBe(text));

  it('prints a list with %v', () => expect(goList(['/bin/sh', '-ec'])).toBe('[/bin/sh -ec]'));
});
