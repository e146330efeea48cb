import { describe, expect, it } from 'vitest';

import { RegistryError } from './errors.js';
import { parseContentRange, parseRangeHeader, uploadRangeHeader } from './range.js';

describe('Range on blob GET', () => {
  it.each([
    [undefined, undefined],
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-', { start: 10, end: 99 }],
    ['bytes=90-200', { start: 90, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-1000', { start: 0, end: 99 }],
    ['bytes=100-', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=5-1', undefined],
    ['bytes=0-1,5-6', undefined],
    ['items=0-1', undefined],
    ['bytes=-', undefined],
  ])('%s of 100 bytes → %j', (h, want) => {
    expect(parseRangeHeader(h, 100)).toEqual(want);
  });
});

describe('Content-Range on PATCH', () => {
  it('parses start-end, with or without a unit and total', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange('bytes=5-5')).toEqual({ start: 5, end: 5 });
  });
  it.each(['', '5', '10-5', 'a-b', '-5', '0-99999999999999999999'])('refuses %j with 416', (h) => {
    try {
      parseContentRange(h);
      expect.unreachable();
    } catch (err) {
      expect((err as RegistryError).code).toBe('RANGE_INVALID');
      expect((err as RegistryError).status).toBe(416);
    }
  });
  it('upload Range header', () => {
    expect(uploadRangeHeader(0)).toBe('0-0');
    expect(uploadRangeHeader(1)).toBe('0-0');
    expect(uploadRangeHeader(1000)).toBe('0-999');
  });
});
