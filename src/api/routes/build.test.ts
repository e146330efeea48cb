import { describe, expect, it } from 'vitest';

import { parsePrune, parseSecrets } from './build.js';

const header = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('X-Wharf-Build-Secrets', () => {
  it('decodes secrets by id', () => {
    const s = parseSecrets(header({ a: Buffer.from('one').toString('base64'), b: '' }));
    expect([...s.entries()].map(([k, v]) => [k, v.toString()])).toEqual([
      ['a', 'one'],
      ['b', ''],
    ]);
    expect(parseSecrets(undefined).size).toBe(0);
  });

  it('refuses malformed headers and oversized secrets without echoing values', () => {
    expect(() => parseSecrets('%%%')).toThrow('not base64-encoded JSON');
    expect(() => parseSecrets(header(['x']))).toThrow('expected a JSON object');
    expect(() => parseSecrets(header({ a: 1 }))).toThrow('bad entry for secret "a"');
    const big = Buffer.alloc(500 * 1024 + 1, 'x').toString('base64');
    const err = (() => {
      try {
        parseSecrets(header({ big }));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toBe('secret big too big. max size 500KB');
  });
});

describe('POST /build/prune query', () => {
  it('reads all, filters and keep-storage as dockerd', () => {
    const q = new URLSearchParams({
      all: '1',
      filters: '{"until":{"24h":true}}',
      'keep-storage': '10485760',
    });
    expect(parsePrune(q)).toEqual({
      all: true,
      filters: new Map([['until', ['24h']]]),
      keepStorage: 10485760,
    });
    expect(parsePrune(new URLSearchParams())).toEqual({
      all: false,
      filters: new Map(),
      keepStorage: 0,
    });
    expect(() => parsePrune(new URLSearchParams({ 'keep-storage': '10MB' }))).toThrow(
      'keep-storage is in bytes and expects an integer, got 10MB: strconv.Atoi: parsing "10MB": invalid syntax',
    );
  });
});
