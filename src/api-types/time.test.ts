import { describe, expect, it } from 'vitest';

import {
  formatGoDuration,
  formatRFC3339Nano,
  parseGoDuration,
  parseTimestamp,
  parseTimestampNano,
} from './time.js';

const NOW = Date.UTC(2024, 0, 2, 3, 4, 5, 600); // 2024-01-02T03:04:05.6Z
const UTC = { now: NOW, zoneOffsetMinutes: 0 };

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['42s', 42e9],
    ['10m', 600e9],
    ['1h30m', 5400e9],
    ['1.5s', 1.5e9],
    ['-2m', -120e9],
    ['+5ms', 5e6],
    ['300us', 300e3],
    ['300µs', 300e3],
    ['1h2m3s4ms5us6ns', 3723004005006],
    ['.5h', 1800e9],
  ])('%s', (input, ns) => expect(parseGoDuration(input)).toBe(ns));

  it.each([
    ['', 'time: invalid duration ""'],
    ['1', 'time: missing unit in duration "1"'],
    ['1x', 'time: unknown unit "x" in duration "1x"'],
    ['.s', 'time: invalid duration ".s"'],
    ['-', 'time: invalid duration "-"'],
  ])('rejects %j', (input, msg) => expect(() => parseGoDuration(input)).toThrow(msg));
});

describe('formatGoDuration', () => {
  it.each([
    [0, '0s'],
    [90e9, '1m30s'],
    [5400e9, '1h30m0s'],
    [1.5e9, '1.5s'],
    [250e6, '250ms'],
    [1500, '1.5µs'],
    [7, '7ns'],
    [-61e9, '-1m1s'],
    [3723004005006, '1h2m3.004005006s'],
  ])('%d → %s', (ns, s) => expect(formatGoDuration(ns)).toBe(s));

  it('round-trips', () => {
    for (const s of ['1m30s', '1h0m0s', '2.5s', '100ms']) {
      expect(formatGoDuration(parseGoDuration(s))).toBe(s);
    }
  });
});

describe('parseTimestamp (docker since/until)', () => {
  it('unix seconds with and without fraction', () => {
    expect(parseTimestampNano('1700000000', UTC)).toBe(1700000000_000000000n);
    expect(parseTimestampNano('1700000000.123', UTC)).toBe(1700000000_123000000n);
    expect(parseTimestampNano('1700000000.123456789123', UTC)).toBe(1700000000_123456789n);
    expect(parseTimestamp('1700000000.5', UTC)).toBe(1700000000.5);
    expect(parseTimestampNano('0', UTC)).toBe(0n);
  });

  it('durations are relative to now, in the past', () => {
    expect(parseTimestamp('10m', UTC)).toBeCloseTo(NOW / 1000 - 600, 6);
    expect(parseTimestamp('1h30m', UTC)).toBeCloseTo(NOW / 1000 - 5400, 6);
    expect(parseTimestamp('42s', UTC)).toBeCloseTo(NOW / 1000 - 42, 6);
  });

  it('RFC 3339 with zones', () => {
    const base = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;
    expect(parseTimestampNano('2024-01-02T03:04:05Z', UTC)).toBe(base);
    expect(parseTimestampNano('2024-01-02T03:04:05.123456789Z', UTC)).toBe(base + 123456789n);
    expect(parseTimestampNano('2024-01-02T04:04:05+01:00', UTC)).toBe(base);
    expect(parseTimestampNano('2024-01-02T02:04:05.5-01:00', UTC)).toBe(base + 500000000n);
    expect(parseTimestampNano('2024-01-02Z', UTC)).toBe(BigInt(Date.UTC(2024, 0, 2)) * 1_000_000n);
  });

  it('zone-less values are in the local zone', () => {
    const plus2 = { now: NOW, zoneOffsetMinutes: 120 };
    const base = BigInt(Date.UTC(2024, 0, 2, 1, 4, 5)) * 1_000_000n;
    expect(parseTimestampNano('2024-01-02T03:04:05', plus2)).toBe(base);
    expect(parseTimestampNano('2024-01-02T03:04:05.25', plus2)).toBe(base + 250000000n);
    expect(parseTimestampNano('2024-01-02', UTC)).toBe(BigInt(Date.UTC(2024, 0, 2)) * 1_000_000n);
    expect(parseTimestampNano('2024-01-02T03', UTC)).toBe(
      BigInt(Date.UTC(2024, 0, 2, 3)) * 1_000_000n,
    );
    expect(parseTimestampNano('2024-01-02T03:04', UTC)).toBe(
      BigInt(Date.UTC(2024, 0, 2, 3, 4)) * 1_000_000n,
    );
  });

  it('rejects garbage with docker-like errors', () => {
    expect(() => parseTimestampNano('', UTC)).toThrow('value is empty');
    expect(() => parseTimestampNano('yesterday', UTC)).toThrow(
      'failed to parse value as time or duration',
    );
    expect(() => parseTimestampNano('2024-13-01', UTC)).toThrow('parsing time');
    expect(() => parseTimestampNano('1700000000.12a', UTC)).toThrow('invalid nanoseconds');
  });
});

describe('formatRFC3339Nano', () => {
  const t = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;
  it('trims like Go, or pads like docker logs', () => {
    expect(formatRFC3339Nano(t + 120000000n)).toBe('2024-01-02T03:04:05.12Z');
    expect(formatRFC3339Nano(t)).toBe('2024-01-02T03:04:05Z');
    expect(formatRFC3339Nano(t + 123456789n)).toBe('2024-01-02T03:04:05.123456789Z');
    expect(formatRFC3339Nano(t + 120000000n, { fixed: true })).toBe(
      '2024-01-02T03:04:05.120000000Z',
    );
  });
});
