import { describe, expect, it } from 'vitest';

import { humanSizeDecimal, progressBarText, toJSONMessage } from './progress.js';

describe('progress messages', () => {
  it('serialises events in docker JSON message shapes', () => {
    expect(
      toJSONMessage({ kind: 'message', status: 'Pulling from library/busybox', id: 'latest' }),
    ).toEqual({
      status: 'Pulling from library/busybox',
      id: 'latest',
    });
    expect(toJSONMessage({ kind: 'layer', id: 'abc', status: 'Pull complete' })).toEqual({
      status: 'Pull complete',
      progressDetail: {},
      id: 'abc',
    });
    expect(
      toJSONMessage({ kind: 'layer', id: 'abc', status: 'Downloading', current: 25, total: 100 }),
    ).toEqual({
      status: 'Downloading',
      progressDetail: { current: 25, total: 100 },
      progress: `[${'='.repeat(12)}>${' '.repeat(38)}]      25B/100B`,
      id: 'abc',
    });
    expect(toJSONMessage({ kind: 'aux', aux: { Tag: 't' } })).toEqual({
      progressDetail: {},
      aux: { Tag: 't' },
    });
  });

  it('formats sizes as go-units HumanSize', () => {
    expect(humanSizeDecimal(0)).toBe('0B');
    expect(humanSizeDecimal(2_151_000)).toBe('2.151MB');
    expect(humanSizeDecimal(50_000_000)).toBe('50MB');
    expect(humanSizeDecimal(1234)).toBe('1.234kB');
    expect(progressBarText(2048, undefined)).toBe(' 2.048kB');
    expect(progressBarText(200, 100)).toContain(`[${'='.repeat(50)}>]`);
  });
});
