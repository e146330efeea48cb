import { describe, expect, it } from 'vitest';

import { parseNetworkMode } from './mode.js';

describe('parseNetworkMode', () => {
  it('parses Docker network modes', () => {
    expect(parseNetworkMode(undefined)).toEqual({ kind: 'bridge' });
    expect(parseNetworkMode('default')).toEqual({ kind: 'bridge' });
    expect(parseNetworkMode('bridge')).toEqual({ kind: 'bridge' });
    expect(parseNetworkMode('none')).toEqual({ kind: 'none' });
    expect(parseNetworkMode('host')).toEqual({ kind: 'host' });
    expect(parseNetworkMode('container:web')).toEqual({ kind: 'container', container: 'web' });
    expect(() => parseNetworkMode('container:')).toThrow();
    expect(() => parseNetworkMode('mynet')).toThrow(/not supported yet/);
  });
});
