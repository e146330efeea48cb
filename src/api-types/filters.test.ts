import { describe, expect, it } from 'vitest';

import {
  filterExactMatch,
  filterFuzzyMatch,
  filterMatchKVList,
  parseFilters,
  validateFilters,
} from './filters.js';

describe('parseFilters', () => {
  it('reads the map shape and the legacy list shape', () => {
    expect(parseFilters('{"label":{"a=b":true,"c":true},"status":{"running":true}}')).toEqual(
      new Map([
        ['label', ['a=b', 'c']],
        ['status', ['running']],
      ]),
    );
    expect(parseFilters('{"label":["a=b","a=b","c"]}')).toEqual(new Map([['label', ['a=b', 'c']]]));
  });

  it('empty, absent and null mean no filters', () => {
    expect(parseFilters('').size).toBe(0);
    expect(parseFilters(undefined).size).toBe(0);
    expect(parseFilters('null').size).toBe(0);
    expect(parseFilters('{"label":{}}')).toEqual(new Map([['label', []]]));
  });

  it.each([
    '{',
    '[]',
    '"x"',
    '{"label":"a"}',
    '{"label":{"a":"yes"}}',
    '{"a":["x"],"b":{"y":true}}',
  ])('rejects %s with "invalid filter"', (raw) => {
    expect(() => parseFilters(raw)).toThrow(/^invalid filter$/);
    try {
      parseFilters(raw);
    } catch (err) {
      expect((err as { kind: string }).kind).toBe('invalid-argument');
    }
  });
});

describe('validateFilters', () => {
  it('names the unknown key', () => {
    const f = parseFilters('{"label":["a"],"bogus":["x"]}');
    expect(() => validateFilters(f, ['label'])).toThrow("invalid filter 'bogus'");
    expect(() => validateFilters(f, ['label', 'bogus'])).not.toThrow();
  });
});

describe('matching', () => {
  const f = parseFilters('{"name":["web"],"label":["a=b","c"],"empty":[]}');
  it('exact and fuzzy', () => {
    expect(filterExactMatch(f, 'name', 'web')).toBe(true);
    expect(filterExactMatch(f, 'name', 'web2')).toBe(false);
    expect(filterFuzzyMatch(f, 'name', 'web2')).toBe(true);
    expect(filterFuzzyMatch(f, 'name', 'xweb')).toBe(false);
    expect(filterExactMatch(f, 'missing', 'anything')).toBe(true);
    expect(filterExactMatch(f, 'empty', 'anything')).toBe(true);
  });
  it('label key and key=value, all must match', () => {
    expect(filterMatchKVList(f, 'label', { a: 'b', c: '' })).toBe(true);
    expect(filterMatchKVList(f, 'label', { a: 'x', c: '1' })).toBe(false);
    expect(filterMatchKVList(f, 'label', { a: 'b' })).toBe(false);
    expect(filterMatchKVList(f, 'label', {})).toBe(false);
    expect(filterMatchKVList(new Map(), 'label', {})).toBe(true);
  });
});
