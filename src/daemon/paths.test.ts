import { describe, expect, it } from 'vitest';

import { DEFAULTS } from './config.js';
import { daemonPaths } from './paths.js';

describe('daemonPaths', () => {
  it('puts persistent state under the data root and runtime state under the exec root', () => {
    expect(daemonPaths({ ...DEFAULTS, dataRoot: '/d', execRoot: '/e/' })).toEqual({
      containers: '/d/containers',
      image: '/d/image',
      content: '/d/content',
      snapshots: '/d/overlay',
      network: '/d/network',
      volumes: '/d/volumes',
      bundles: '/e/containers',
      runcRoot: '/e/runc',
      exits: '/e/exits',
      specFifos: '/e/spec-fifos',
      netns: '/e/netns',
    });
  });

  it('uses the default roots', () => {
    const p = daemonPaths(DEFAULTS);
    expect(p.containers).toBe('/var/lib/wharf/containers');
    expect(p.runcRoot).toBe('/run/wharf/runc');
  });
});
