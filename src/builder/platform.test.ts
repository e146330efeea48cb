import { describe, expect, it } from 'vitest';

import {
  formatBuildPlatform,
  parseBuildPlatform,
  platformArgs,
  platformMatches,
} from './platform.js';

describe('build platforms', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['amd64', 'linux/amd64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['LINUX/ARM/V7', 'linux/arm/v7'],
  ])('%s is %s', (s, want) => expect(formatBuildPlatform(parseBuildPlatform(s))).toBe(want));

  it.each(['', 'linux//amd64', 'a/b/c/d', 'linux/am d64'])('refuses %j', (s) =>
    expect(() => parseBuildPlatform(s)).toThrow('unknown operating system or architecture'),
  );

  it('matches variants only when asked', () => {
    const arm = { os: 'linux', architecture: 'arm', variant: 'v7' };
    expect(platformMatches({ os: 'linux', architecture: 'arm' }, arm)).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, arm)).toBe(false);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, arm)).toBe(false);
  });

  it("gives BuildKit's predefined args", () => {
    const args = platformArgs(
      { os: 'linux', architecture: 'arm', variant: 'v7' },
      { os: 'linux', architecture: 'amd64' },
    );
    expect(Object.fromEntries(args)).toEqual({
      TARGETPLATFORM: 'linux/arm/v7',
      TARGETOS: 'linux',
      TARGETARCH: 'arm',
      TARGETVARIANT: 'v7',
      BUILDPLATFORM: 'linux/amd64',
      BUILDOS: 'linux',
      BUILDARCH: 'amd64',
      BUILDVARIANT: '',
    });
  });
});
