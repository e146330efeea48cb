import { describe, expect, it } from 'vitest';

import type { Descriptor } from '../../oci/index.js';
import { formatPlatform, parsePlatform, selectManifest } from './platform.js';

const d = (
  digest: string,
  platform?: Descriptor['platform'],
  annotations?: Record<string, string>,
): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${digest.repeat(64).slice(0, 64)}`,
  size: 1,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});

describe('parsePlatform', () => {
  it('normalises as containerd', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v7')).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(formatPlatform(parsePlatform('LINUX/ARM/V6'))).toBe('linux/arm/v6');
  });

  it('rejects malformed platforms', () => {
    expect(() => parsePlatform('linux//amd64')).toThrow(/unknown operating system or architecture/);
    expect(() => parsePlatform('a/b/c/d')).toThrow();
  });
});

describe('selectManifest', () => {
  const index = [
    d('a', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    d('b', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    d(
      'c',
      { os: 'unknown', architecture: 'unknown' },
      { 'vnd.docker.reference.type': 'attestation-manifest' },
    ),
    d('e', { os: 'linux', architecture: 'amd64' }),
    d('f', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    d('9'),
  ];

  it('picks the requested platform, matching variants when asked', () => {
    expect(selectManifest(index, parsePlatform('linux/amd64')).digest).toMatch(/^sha256:e/);
    expect(selectManifest(index, parsePlatform('linux/arm/v7')).digest).toMatch(/^sha256:b/);
    expect(selectManifest(index, parsePlatform('linux/arm')).digest).toMatch(/^sha256:a/);
    expect(selectManifest(index, parsePlatform('linux/arm64')).digest).toMatch(/^sha256:f/);
  });

  it('never picks attestations and says what is missing', () => {
    expect(() => selectManifest(index, parsePlatform('linux/s390x'))).toThrow(
      'no matching manifest for linux/s390x in the manifest list entries',
    );
    expect(() => selectManifest([index[2]!], { os: 'unknown', architecture: 'unknown' })).toThrow(
      /no matching manifest/,
    );
  });
});
