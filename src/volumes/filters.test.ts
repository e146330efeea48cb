import { describe, expect, it } from 'vitest';

import {
  matchListFilters,
  pruneSelector,
  validateListFilters,
  type FilterableVolume,
} from './filters.js';
import { ANONYMOUS_LABEL } from './names.js';

const vol = (over: Partial<FilterableVolume>): FilterableVolume => ({
  Name: 'data',
  Driver: 'local',
  Labels: null,
  inUse: false,
  ...over,
});
const f = (o: Record<string, string[]>) => new Map(Object.entries(o));

describe('volume list filters', () => {
  it('dangling', () => {
    expect(matchListFilters(f({ dangling: ['true'] }), vol({}))).toBe(true);
    expect(matchListFilters(f({ dangling: ['1'] }), vol({ inUse: true }))).toBe(false);
    expect(matchListFilters(f({ dangling: ['false'] }), vol({ inUse: true }))).toBe(true);
    expect(() => validateListFilters(f({ dangling: ['maybe'] }))).toThrow(
      "invalid filter 'dangling=maybe'",
    );
  });

  it('name is an unanchored regexp, driver exact, labels all', () => {
    expect(matchListFilters(f({ name: ['at'] }), vol({}))).toBe(true);
    expect(matchListFilters(f({ name: ['^d.t'] }), vol({}))).toBe(true);
    expect(matchListFilters(f({ name: ['x', 'y'] }), vol({}))).toBe(false);
    expect(matchListFilters(f({ driver: ['local'] }), vol({}))).toBe(true);
    expect(matchListFilters(f({ driver: ['loc'] }), vol({}))).toBe(false);
    const labelled = vol({ Labels: { a: '1', b: '2' } });
    expect(matchListFilters(f({ label: ['a', 'b=2'] }), labelled)).toBe(true);
    expect(matchListFilters(f({ label: ['a=2'] }), labelled)).toBe(false);
  });

  it('rejects unknown keys', () => {
    expect(() => validateListFilters(f({ until: ['1h'] }))).toThrow("invalid filter 'until'");
  });
});

describe('volume prune selection', () => {
  const anon = vol({ Name: 'a'.repeat(64), Labels: { [ANONYMOUS_LABEL]: '' } });
  const named = vol({ Name: 'named', Labels: { keep: 'yes' } });

  it('prunes only unused anonymous volumes unless all', () => {
    const sel = pruneSelector(f({}), false);
    expect(sel(anon)).toBe(true);
    expect(sel(named)).toBe(false);
    expect(sel({ ...anon, inUse: true })).toBe(false);
    expect(pruneSelector(f({ all: ['true'] }), false)(named)).toBe(true);
    expect(pruneSelector(f({}), true)(named)).toBe(true);
  });

  it('label and label! filters', () => {
    expect(pruneSelector(f({ all: ['1'], label: ['keep'] }), false)(named)).toBe(true);
    expect(pruneSelector(f({ all: ['1'], 'label!': ['keep'] }), false)(named)).toBe(false);
    expect(pruneSelector(f({ all: ['1'], 'label!': ['keep=no'] }), false)(named)).toBe(true);
    expect(() => pruneSelector(f({ dangling: ['true'] }), false)).toThrow(
      "invalid filter 'dangling'",
    );
  });
});
