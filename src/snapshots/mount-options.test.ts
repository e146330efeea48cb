import { describe, expect, it } from 'vitest';

import { chainID, chainIDs, sha256Digest, type Digest } from '../oci/index.js';
import { MOUNT_DATA_MAX, overlayMountArgs, overlayMountOptions } from './mount-options.js';

describe('overlayMountOptions', () => {
  it('lists lowers top first, then upper and work', () => {
    expect(
      overlayMountOptions({
        lowerdirs: ['l/B', 'l/A'],
        upperdir: 'c/1/upper',
        workdir: 'c/1/work',
      }),
    ).toBe('lowerdir=l/B:l/A,upperdir=c/1/upper,workdir=c/1/work');
    expect(
      overlayMountOptions({ lowerdirs: ['empty'], upperdir: 'u', workdir: 'w', readonly: true }),
    ).toBe('ro,lowerdir=empty,upperdir=u,workdir=w');
  });

  it('fits 125 layers (the Docker limit) of 20-character links in a page, and refuses more than a page', () => {
    const link = (i: number) => `l/${String(i).padStart(20, 'A')}`;
    const lowers = Array.from({ length: 125 }, (_, i) => link(i));
    const ok = overlayMountOptions({
      lowerdirs: lowers,
      upperdir: `containers/${'a'.repeat(64)}/upper`,
      workdir: 'w',
    });
    expect(ok.length).toBeLessThanOrEqual(MOUNT_DATA_MAX);
    const many = Array.from({ length: 400 }, (_, i) => link(i));
    expect(() => overlayMountOptions({ lowerdirs: many, upperdir: 'u', workdir: 'w' })).toThrow(
      /too many layers/,
    );
  });

  it('refuses paths that would break the option syntax, and no lowers', () => {
    expect(() =>
      overlayMountOptions({ lowerdirs: ['a,b'], upperdir: 'u', workdir: 'w' }),
    ).toThrow();
    expect(() =>
      overlayMountOptions({ lowerdirs: ['a:b'], upperdir: 'u', workdir: 'w' }),
    ).toThrow();
    expect(() => overlayMountOptions({ lowerdirs: [], upperdir: 'u', workdir: 'w' })).toThrow();
  });

  it('builds mount argv without a shell', () => {
    expect(overlayMountArgs('/mnt/x', 'lowerdir=a')).toEqual([
      'mount',
      '-t',
      'overlay',
      '-o',
      'lowerdir=a',
      '--',
      'overlay',
      '/mnt/x',
    ]);
  });
});

describe('chain IDs', () => {
  const d1 = sha256Digest('layer1');
  const d2 = sha256Digest('layer2');
  const d3 = sha256Digest('layer3');
  it('follows the OCI definition', () => {
    const c2 = sha256Digest(`${d1} ${d2}`);
    expect(chainIDs([d1, d2, d3])).toEqual([d1, c2, sha256Digest(`${c2} ${d3}`)]);
    expect(chainID([])).toBeUndefined();
    expect(chainID([d1])).toBe(d1);
  });
  it('matches a known value (busybox-style single layer is its own diffID)', () => {
    const known: Digest = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
    expect(chainID([known])).toBe(known);
  });
});
