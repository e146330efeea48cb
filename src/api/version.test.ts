import { describe, expect, it } from 'vitest';

import { API_VERSION, compareVersions, MIN_API_VERSION } from './version.js';

describe('compareVersions', () => {
  it('compares major then minor numerically', () => {
    expect(compareVersions('1.45', '1.45')).toBe(0);
    expect(compareVersions('1.45', '1.44')).toBeGreaterThan(0);
    expect(compareVersions('1.24', '1.45')).toBeLessThan(0);
    expect(compareVersions('1.9', '1.10')).toBeLessThan(0);
    expect(compareVersions('2.0', '1.99')).toBeGreaterThan(0);
  });

  it('orders the supported range', () => {
    expect(compareVersions(MIN_API_VERSION, API_VERSION)).toBeLessThan(0);
  });

  it('sorts a list of versions', () => {
    expect(['1.40', '1.4', '1.24', '1.100'].sort(compareVersions)).toEqual([
      '1.4',
      '1.24',
      '1.40',
      '1.100',
    ]);
  });
});
