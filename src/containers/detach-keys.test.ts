import { describe, expect, it } from 'vitest';

import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from './detach-keys.js';

describe('parseDetachKeys', () => {
  it('defaults to ctrl-p,ctrl-q', () => {
    expect(parseDetachKeys(undefined)).toEqual(Buffer.from([0x10, 0x11]));
    expect(parseDetachKeys('')).toEqual(DEFAULT_DETACH_KEYS);
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual(DEFAULT_DETACH_KEYS);
  });

  it('accepts single characters and control keys', () => {
    expect(parseDetachKeys('a,b')).toEqual(Buffer.from('ab'));
    expect(parseDetachKeys('ctrl-a,ctrl-z')).toEqual(Buffer.from([1, 26]));
    expect(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')).toEqual(
      Buffer.from([0, 27, 28, 29, 30, 31]),
    );
    expect(parseDetachKeys('x,ctrl-x')).toEqual(Buffer.from([0x78, 0x18]));
  });

  it("refuses invalid specs with Docker's message", () => {
    for (const spec of ['ctrl-', 'ctrl-ab', 'ctrl-1', 'ab', 'a,,b', ',', 'shift-a']) {
      expect(() => parseDetachKeys(spec)).toThrow(`Invalid detach keys (${spec}) provided`);
    }
    expect(() => parseDetachKeys('nope')).toThrowError(
      expect.objectContaining({ kind: 'invalid-argument' }),
    );
  });
});

describe('DetachScanner', () => {
  const b = (s: string | number[]) => Buffer.from(s as string);

  it('forwards ordinary input untouched', () => {
    const s = new DetachScanner(DEFAULT_DETACH_KEYS);
    expect(s.push(b('hello\n'))).toEqual({ forward: b('hello\n'), detach: false });
  });

  it('detaches on the sequence and forwards what came before it', () => {
    const s = new DetachScanner(DEFAULT_DETACH_KEYS);
    expect(s.push(b([0x61, 0x10, 0x11, 0x62]))).toEqual({ forward: b('a'), detach: true });
  });

  it('detects a sequence split across chunks, withholding the partial match', () => {
    const s = new DetachScanner(DEFAULT_DETACH_KEYS);
    expect(s.push(b([0x61, 0x10]))).toEqual({ forward: b('a'), detach: false });
    expect(s.push(b([0x11]))).toEqual({ forward: b([]), detach: true });
  });

  it('forwards a failed partial match intact, followed by the other bytes', () => {
    const s = new DetachScanner(DEFAULT_DETACH_KEYS);
    expect(s.push(b([0x10]))).toEqual({ forward: b([]), detach: false });
    expect(s.push(b('xy'))).toEqual({ forward: b([0x10, 0x78, 0x79]), detach: false });
    expect(s.push(b([0x10, 0x7a]))).toEqual({ forward: b([0x10, 0x7a]), detach: false });
  });

  it('restarts matching on a repeated first key', () => {
    const s = new DetachScanner(DEFAULT_DETACH_KEYS);
    expect(s.push(b([0x10, 0x10, 0x11]))).toEqual({ forward: b([0x10]), detach: true });
  });

  it('keeps the longest pending start after a mismatch (a,a,b on "xaaab")', () => {
    const sc = new DetachScanner(parseDetachKeys('a,a,b'));
    expect(sc.push(Buffer.from('xaaa'))).toEqual({ forward: Buffer.from('xa'), detach: false });
    expect(sc.push(Buffer.from('b'))).toEqual({ forward: Buffer.from(''), detach: true });
    const sc2 = new DetachScanner(parseDetachKeys('a,b,a,c'));
    expect(sc2.push(Buffer.from('ababac'))).toEqual({ forward: Buffer.from('ab'), detach: true });
    const sc3 = new DetachScanner(parseDetachKeys('a,a,b'));
    expect(sc3.push(Buffer.from('aacab'))).toEqual({
      forward: Buffer.from('aacab'),
      detach: false,
    });
  });

  it('handles longer sequences across several chunks', () => {
    const s = new DetachScanner(parseDetachKeys('a,b,c'));
    expect(s.push(b('xa'))).toEqual({ forward: b('x'), detach: false });
    expect(s.push(b('b'))).toEqual({ forward: b([]), detach: false });
    expect(s.push(b('d'))).toEqual({ forward: b('abd'), detach: false });
    expect(s.push(b('ab'))).toEqual({ forward: b([]), detach: false });
    expect(s.push(b('c'))).toEqual({ forward: b([]), detach: true });
  });

  it('detaches on a one-key sequence', () => {
    const s = new DetachScanner(parseDetachKeys('ctrl-@'));
    expect(s.push(b([0x61, 0x00]))).toEqual({ forward: b('a'), detach: true });
  });
});
