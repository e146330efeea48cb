import { describe, expect, it } from 'vitest';

import { qbool, qint } from './http.js';

const q = (s: string) => new URLSearchParams(s);

describe('qbool', () => {
  it('is true for 1, true and other values', () => {
    for (const v of ['1', 'true', 'True', 'yes', 'anything'])
      expect(qbool(q(`x=${v}`), 'x')).toBe(true);
  });

  it("is false for Docker's false words, in any case", () => {
    for (const v of ['0', 'false', 'False', 'FALSE', 'no', 'No', 'none', ' false ']) {
      expect(qbool(q(`x=${encodeURIComponent(v)}`), 'x')).toBe(false);
    }
  });

  it('uses the default when absent or empty', () => {
    expect(qbool(q(''), 'x')).toBe(false);
    expect(qbool(q(''), 'x', true)).toBe(true);
    expect(qbool(q('x='), 'x', true)).toBe(true);
    expect(qbool(q('x=0'), 'x', true)).toBe(false);
  });
});

describe('qint', () => {
  it('parses integers', () => {
    expect(qint(q('t=10'), 't')).toBe(10);
    expect(qint(q('t=0'), 't')).toBe(0);
    expect(qint(q('t=-1'), 't')).toBe(-1);
  });

  it('is undefined when absent or empty', () => {
    expect(qint(q(''), 't')).toBeUndefined();
    expect(qint(q('t='), 't')).toBeUndefined();
  });

  it('refuses what is not an integer', () => {
    for (const v of ['abc', '1.5', 'Infinity', '10s']) {
      expect(() => qint(q(`t=${v}`), 't')).toThrow(`invalid value for t: ${v}`);
    }
    expect(() => qint(q('t=abc'), 't')).toThrowError(
      expect.objectContaining({ kind: 'invalid-argument' }),
    );
  });
});
