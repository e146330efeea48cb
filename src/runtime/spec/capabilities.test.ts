import { describe, expect, it } from 'vitest';

import {
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  capabilitiesFromMask,
  hostBoundingSet,
  normalizeCapabilities,
  tweakCapabilities,
} from './capabilities.js';

// This machine's kind: every capability up to 40 except CAP_SYS_RESOURCE (24): the mask is 0x1fffeffffff.
const HOST = capabilitiesFromMask('000001fffeffffff');

describe('capabilities', () => {
  it('decodes a CapBnd mask', () => {
    expect(HOST).toHaveLength(40);
    expect(HOST).not.toContain('CAP_SYS_RESOURCE');
    expect(capabilitiesFromMask('0000000000000001')).toEqual(['CAP_CHOWN']);
    expect(KNOWN_CAPABILITIES[21]).toBe('CAP_SYS_ADMIN');
  });

  it('reads the host bounding set from /proc', () => {
    const set = hostBoundingSet();
    expect(set.length).toBeGreaterThan(0);
    expect(set.every((c) => KNOWN_CAPABILITIES.includes(c))).toBe(true);
  });

  it("has Docker's 14 defaults", () => {
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(tweakCapabilities({ hostBoundingSet: HOST })).toEqual(DEFAULT_CAPABILITIES);
  });

  it('normalizes case and the CAP_ prefix, keeps ALL', () => {
    expect(normalizeCapabilities(['net_admin', 'CAP_SYS_ADMIN', 'Sys_Ptrace', 'all'])).toEqual([
      'CAP_NET_ADMIN',
      'CAP_SYS_ADMIN',
      'CAP_SYS_PTRACE',
      'ALL',
    ]);
  });

  it("rejects unknown capabilities with Docker's message", () => {
    expect(() => normalizeCapabilities(['foo'])).toThrow('unknown capability: "CAP_FOO"');
    expect(() => normalizeCapabilities(['foo'])).toThrowError(
      expect.objectContaining({ kind: 'invalid-argument' }),
    );
    expect(() => tweakCapabilities({ add: ['SYS_RESOURCE'], hostBoundingSet: HOST })).toThrow(
      'capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE"',
    );
  });

  it('adds and drops', () => {
    const caps = tweakCapabilities({
      add: ['NET_ADMIN'],
      drop: ['chown', 'CAP_KILL'],
      hostBoundingSet: HOST,
    });
    expect(caps).toContain('CAP_NET_ADMIN');
    expect(caps).not.toContain('CAP_CHOWN');
    expect(caps).not.toContain('CAP_KILL');
    expect(caps).toHaveLength(13);
  });

  it('handles ALL on either side', () => {
    expect(tweakCapabilities({ drop: ['ALL'], add: ['chown'], hostBoundingSet: HOST })).toEqual([
      'CAP_CHOWN',
    ]);
    const all = tweakCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'], hostBoundingSet: HOST });
    expect(all).toHaveLength(39);
    expect(all).not.toContain('CAP_SYS_ADMIN');
    expect(all).not.toContain('CAP_SYS_RESOURCE');
  });

  it('gives privileged containers the host bounding set, never all known caps', () => {
    expect(tweakCapabilities({ privileged: true, drop: ['ALL'], hostBoundingSet: HOST })).toEqual(
      HOST,
    );
  });
});
