import { describe, expect, it } from 'vitest';

import { CTIME_MARGIN_MS, isMarkerFile, markerFile, planBlobRecovery } from './unflushed.js';

const T = 1_800_000_000_000;
const blobs = [
  { name: 'old', ctimeMs: T - CTIME_MARGIN_MS - 1 },
  { name: 'edge', ctimeMs: T - CTIME_MARGIN_MS },
  { name: 'new', ctimeMs: T + 5_000 },
];
const m = (boot: string, since: number) => ({ schemaVersion: 1 as const, boot, since });

describe('planBlobRecovery', () => {
  it('checks nothing without markers (every flush completed)', () => {
    expect(planBlobRecovery([], 'now', blobs)).toEqual({ verify: [], stale: [] });
  });

  it("adopts this boot's marker (kill -9: flush again) and checks nothing", () => {
    const plan = planBlobRecovery(
      [{ file: 'unflushed-now.json', marker: m('now', T) }],
      'now',
      blobs,
    );
    expect(plan).toEqual({ verify: [], stale: [], adopt: m('now', T) });
  });

  it("re-hashes the blobs created since another boot's marker, with a margin", () => {
    const plan = planBlobRecovery(
      [{ file: 'unflushed-old.json', marker: m('old', T) }],
      'now',
      blobs,
    );
    expect(plan.verify).toEqual(['edge', 'new']);
    expect(plan.stale).toEqual(['unflushed-old.json']);
    expect(plan.adopt).toBeUndefined();
  });

  it('takes the oldest of several stale markers, and trusts no blob for a damaged one', () => {
    const two = planBlobRecovery(
      [
        { file: 'unflushed-a.json', marker: m('a', T + 60 * 60 * 1000) },
        { file: 'unflushed-b.json', marker: m('b', T) },
        { file: 'unflushed-now.json', marker: m('now', T + 1) },
      ],
      'now',
      blobs,
    );
    expect(two.verify).toEqual(['edge', 'new']);
    expect(two.stale).toEqual(['unflushed-a.json', 'unflushed-b.json']);
    expect(two.adopt).toEqual(m('now', T + 1));
    const damaged = planBlobRecovery(
      [{ file: 'unflushed-x.json', marker: undefined }],
      'now',
      blobs,
    );
    expect(damaged.verify).toEqual(['old', 'edge', 'new']);
  });

  it('names markers by boot', () => {
    expect(isMarkerFile(markerFile('0b4e2a4c-8f21-4c1e-a0a1-6f8e7d2c9b10'))).toBe(true);
    expect(isMarkerFile('unflushed-../x.json')).toBe(false);
    expect(isMarkerFile('.unflushed-a.json.abc.tmp')).toBe(false);
  });
});
