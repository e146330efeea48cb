import { constants } from 'node:os';

import { describe, expect, it } from 'vitest';

import { parseSignal, signalNumber } from './signals.js';

describe('parseSignal', () => {
  it('accepts names with or without SIG, in any case', () => {
    expect(parseSignal('SIGKILL')).toBe('SIGKILL');
    expect(parseSignal('KILL')).toBe('SIGKILL');
    expect(parseSignal('kill')).toBe('SIGKILL');
    expect(parseSignal('sigHup')).toBe('SIGHUP');
    expect(parseSignal(' TERM ')).toBe('SIGTERM');
  });

  it('accepts numbers', () => {
    expect(parseSignal('9')).toBe('SIGKILL');
    expect(parseSignal('15')).toBe('SIGTERM');
    expect(parseSignal('1')).toBe('SIGHUP');
  });

  it('accepts real-time signals by name and number, as their number', () => {
    expect(parseSignal('RTMIN')).toBe('34');
    expect(parseSignal('SIGRTMIN+3')).toBe('37');
    expect(parseSignal('rtmax-1')).toBe('63');
    expect(parseSignal('RTMAX')).toBe('64');
    expect(parseSignal('50')).toBe('50');
    expect(signalNumber(parseSignal('RTMIN+15'))).toBe(49);
  });

  it("refuses unknown signals with Docker's message", () => {
    for (const s of ['FOO', 'SIG', '0', '999', '-9', '9x', '', 'RTMIN+16', 'RTMAX-15', 'RTMIN-1']) {
      expect(() => parseSignal(s)).toThrow(`Invalid signal: ${s}`);
    }
    expect(() => parseSignal('nope')).toThrowError(
      expect.objectContaining({ kind: 'invalid-argument' }),
    );
  });
});

describe('signalNumber', () => {
  it('maps names to numbers, round-tripping parseSignal', () => {
    expect(signalNumber('SIGKILL')).toBe(9);
    expect(signalNumber('SIGTERM')).toBe(15);
    expect(signalNumber(parseSignal('usr1'))).toBe(constants.signals.SIGUSR1);
    for (const n of [1, 2, 3, 6, 9, 10, 12, 15, 17, 19, 28]) {
      expect(signalNumber(parseSignal(String(n)))).toBe(n);
    }
  });

  it('falls back to SIGTERM for unknown names', () => {
    expect(signalNumber('SIGNOPE')).toBe(15);
  });
});
