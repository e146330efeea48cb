import { describe, expect, it } from 'vitest';

import { pruneFilter, selectForPrune, type PruneCandidate } from './cache-prune.js';

const NOW = Date.UTC(2026, 0, 10);
const HOUR = 3_600_000;

function rec(id: string, over: Partial<PruneCandidate> = {}): PruneCandidate {
  return {
    id,
    type: 'regular',
    description: `step ${id}`,
    shared: false,
    inUse: false,
    size: 10,
    lastUsed: NOW - HOUR,
    ...over,
  };
}

const filters = (o: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(o));
const ids = (cs: PruneCandidate[]): string[] => cs.map((c) => c.id);

describe('selectForPrune (BuildKit rules)', () => {
  const records = [
    rec('a', { lastUsed: NOW - 48 * HOUR }),
    rec('b', { shared: true, lastUsed: NOW - 30 * HOUR }),
    rec('c', { inUse: true }),
    rec('d', { type: 'exec.cachemount', lastUsed: NOW - 2 * HOUR, size: 100 }),
    rec('e', { lastUsed: NOW - 60_000, parent: 'a' }),
  ];

  it('keeps records an image shares unless all, and never removes one in use', () => {
    expect(
      ids(selectForPrune(records, { all: false, filters: new Map(), keepStorage: 0 }, NOW)),
    ).toEqual(['a', 'd', 'e']);
    expect(
      ids(selectForPrune(records, { all: true, filters: new Map(), keepStorage: 0 }, NOW)),
    ).toEqual(['a', 'b', 'd', 'e']);
  });

  it('until (and unused-for) keeps what was used within the duration', () => {
    const o = (f: Record<string, string[]>) => ({ all: true, filters: filters(f), keepStorage: 0 });
    expect(ids(selectForPrune(records, o({ until: ['24h'] }), NOW))).toEqual(['a', 'b']);
    expect(ids(selectForPrune(records, o({ 'unused-for': ['90m'] }), NOW))).toEqual([
      'a',
      'b',
      'd',
    ]);
  });

  it('keep-storage removes the least recently used until the cache fits', () => {
    // Total 140 bytes; keep 100: a (10) then b (10) then d (100) → 20 left.
    expect(
      ids(selectForPrune(records, { all: true, filters: new Map(), keepStorage: 100 }, NOW)),
    ).toEqual(['a', 'b', 'd']);
    expect(
      ids(selectForPrune(records, { all: true, filters: new Map(), keepStorage: 125 }, NOW)),
    ).toEqual(['a', 'b']);
    expect(
      selectForPrune(records, { all: true, filters: new Map(), keepStorage: 1000 }, NOW),
    ).toEqual([]);
  });

  it('filters by id (a regular expression), type, description, parent, shared/private', () => {
    const o = (f: Record<string, string[]>) => ({ all: true, filters: filters(f), keepStorage: 0 });
    expect(ids(selectForPrune(records, o({ id: ['^[ab]$'] }), NOW))).toEqual(['a', 'b']);
    expect(ids(selectForPrune(records, o({ type: ['exec.cachemount'] }), NOW))).toEqual(['d']);
    expect(ids(selectForPrune(records, o({ description: ['step e'] }), NOW))).toEqual(['e']);
    expect(ids(selectForPrune(records, o({ parent: ['a'] }), NOW))).toEqual(['e']);
    expect(ids(selectForPrune(records, o({ shared: [] }), NOW))).toEqual(['b']);
    expect(ids(selectForPrune(records, o({ private: ['true'] }), NOW))).toEqual(['a', 'd', 'e']);
    expect(ids(selectForPrune(records, o({ label: ['x=y'] }), NOW))).toHaveLength(4);
  });

  it("refuses bad filters with dockerd's messages", () => {
    expect(() => pruneFilter(filters({ dangling: ['true'] }))).toThrow("invalid filter 'dangling'");
    expect(() => pruneFilter(filters({ until: ['yesterday'] }))).toThrow(
      `"until" filter expects a duration (e.g., '24h'): time: invalid duration "yesterday"`,
    );
    expect(() => pruneFilter(filters({ until: ['1h', '2h'] }))).toThrow(
      'filters expect only one value',
    );
    expect(() => pruneFilter(filters({ until: ['1h'], 'unused-for': ['2h'] }))).toThrow(
      'conflicting filters: "until" and "unused-for"',
    );
    expect(pruneFilter(filters({ until: ['1h30m'] })).keepMs).toBe(90 * 60_000);
  });
});
