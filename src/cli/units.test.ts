import { describe, expect, it } from 'vitest';

import {
  bytesSize,
  getTimestamp,
  goFormatG,
  goTimeString,
  humanDuration,
  humanSize,
  parseCpus,
  parseDuration,
  ramInBytes,
  rfc3339NanoFixed,
} from './units.js';

describe('ramInBytes', () => {
  it.each([
    ['512', 512],
    ['512b', 512],
    ['1k', 1024],
    ['1KB', 1024],
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1GiB', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['2 t', 2 * 1024 ** 4],
  ])('%s → %d', (s, n) => expect(ramInBytes(s)).toBe(n));

  it('rejects bad sizes with go-units messages', () => {
    expect(() => ramInBytes('12x')).toThrow("invalid suffix: 'x'");
    expect(() => ramInBytes('abc')).toThrow("invalid size: 'abc'");
    expect(() => ramInBytes('-1')).toThrow('invalid size');
  });
});

describe('parseCpus', () => {
  it.each([
    ['1', 1e9],
    ['1.5', 1.5e9],
    ['0.000000001', 1],
    ['.5', 5e8],
    ['2.000', 2e9],
  ])('%s → %d', (s, n) => expect(parseCpus(s)).toBe(n));
  it('rejects too precise values', () => {
    expect(() => parseCpus('0.0000000001')).toThrow('value is too precise');
    expect(() => parseCpus('abc')).toThrow();
  });
});

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['1s', 1e9],
    ['300ms', 3e8],
    ['1h30m', 5400e9],
    ['-1.5h', -5400e9],
    ['1m0.5s', 60.5e9],
    ['10us', 1e4],
  ])('%s → %d', (s, n) => expect(parseDuration(s)).toBe(n));
  it('rejects bad durations', () => {
    expect(() => parseDuration('10')).toThrow('missing unit');
    expect(() => parseDuration('x')).toThrow('invalid duration');
  });
});

describe('human formatting', () => {
  it.each([
    [0, 'Less than a second'],
    [1000, '1 second'],
    [5000, '5 seconds'],
    [59_999, '59 seconds'],
    [60_000, 'About a minute'],
    [119_000, 'About a minute'],
    [120_000, '2 minutes'],
    [3_600_000, 'About an hour'],
    [5 * 3_600_000, '5 hours'],
    [3 * 86_400_000, '3 days'],
    [15 * 86_400_000, '2 weeks'],
    [90 * 86_400_000, '3 months'],
    [3 * 365 * 86_400_000, '3 years'],
  ])('humanDuration(%d) = %s', (ms, s) => expect(humanDuration(ms)).toBe(s));

  it.each([
    [0, '0B'],
    [999, '999B'],
    [1000, '1kB'],
    [1234, '1.23kB'],
    [4_261_000, '4.26MB'],
    [1_980_000, '1.98MB'],
    [72_800_000, '72.8MB'],
    [1_000_000_000, '1GB'],
    [999_999, '1e+03kB'],
  ])('humanSize(%d) = %s', (n, s) => expect(humanSize(n)).toBe(s));

  it('bytesSize uses binary units with 4 digits', () => {
    expect(bytesSize(8_334_000_000)).toBe('7.762GiB');
    expect(bytesSize(1024)).toBe('1KiB');
  });

  it('goFormatG matches Go %g', () => {
    expect(goFormatG(4.0, 3)).toBe('4');
    expect(goFormatG(0.00001234, 3)).toBe('1.23e-05');
    expect(goFormatG(123.456, 3)).toBe('123');
  });
});

describe('times', () => {
  it('formats RFC3339 with fixed nanoseconds and Go time strings (UTC)', () => {
    process.env.TZ = 'UTC';
    expect(rfc3339NanoFixed(1_700_000_000_123_456_789n)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(goTimeString(1_700_000_000)).toBe('2023-11-14 22:13:20 +0000 UTC');
  });

  it('turns --since values into API timestamps', () => {
    const now = 1_700_000_000_000;
    expect(getTimestamp('10m', now)).toBe('1699999400.000000000');
    expect(getTimestamp('1699999999', now)).toBe('1699999999');
    expect(getTimestamp('2023-11-14T22:13:20Z', now)).toBe('1700000000.000000000');
    expect(() => getTimestamp('yesterday', now)).toThrow();
  });
});
