import { describe, expect, it } from 'vitest';

import { createNetnsArgv, createNetnsBatchArgv, mountPoints, unescapeMountField } from './netns.js';

describe('netns helpers', () => {
  it('reads mount points from mountinfo, decoding escapes', () => {
    const info = [
      '22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw',
      '30 22 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw',
      '41 30 0:25 /wharf/netns /run/wharf/netns rw - tmpfs tmpfs rw',
      '42 41 0:4 net:[4026532300] /run/wharf/netns/abc rw - nsfs nsfs rw',
      '43 22 0:30 / /mnt/with\\040space rw - tmpfs tmpfs rw',
      '',
    ].join('\n');
    const m = mountPoints(info);
    expect(m.has('/run/wharf/netns')).toBe(true);
    expect(m.has('/run/wharf/netns/abc')).toBe(true);
    expect(m.has('/mnt/with space')).toBe(true);
    expect(unescapeMountField('a\\134b')).toBe('a\\b');
  });

  it('creates the namespace and raises lo in one process', () => {
    expect(createNetnsArgv('/run/wharf/netns/abc')).toEqual([
      'unshare',
      '--net=/run/wharf/netns/abc',
      'ip',
      'link',
      'set',
      'dev',
      'lo',
      'up',
    ]);
    expect(createNetnsBatchArgv('/run/wharf/netns/abc')).toEqual([
      'unshare',
      '--net=/run/wharf/netns/abc',
      'ip',
      '-batch',
      '-',
    ]);
  });
});
