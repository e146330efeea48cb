import { describe, expect, it } from 'vitest';

import { formatCidr, parseCidr } from './ipv4.js';
import { chooseSubnet, DEFAULT_ADDRESS_POOLS, routedSubnets } from './pools.js';

// `ip -j -4 route` of a host running Docker beside us.
const ROUTES = [
  { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
  { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.2' },
  {
    dst: '172.17.0.0/16',
    dev: 'docker0',
    protocol: 'kernel',
    scope: 'link',
    prefsrc: '172.17.0.1',
  },
  { dst: '10.9.9.9', dev: 'eth0' },
];

describe('address pools', () => {
  it('are Docker defaults: 172.17-31 as /16s, then 192.168/16 as /20s', () => {
    expect(DEFAULT_ADDRESS_POOLS).toHaveLength(16);
    expect(DEFAULT_ADDRESS_POOLS[0]).toEqual({ base: '172.17.0.0/16', size: 16 });
    expect(DEFAULT_ADDRESS_POOLS[14]).toEqual({ base: '172.31.0.0/16', size: 16 });
    expect(DEFAULT_ADDRESS_POOLS[15]).toEqual({ base: '192.168.0.0/16', size: 20 });
  });

  it('reads routed subnets, skipping default and our own bridge', () => {
    const got = routedSubnets([...ROUTES, { dst: '172.18.0.0/16', dev: 'wharf0' }], ['wharf0']);
    expect(got.map(formatCidr)).toEqual(['192.0.2.0/24', '172.17.0.0/16', '10.9.9.9/32']);
    expect(routedSubnets([{ dst: 'fe80::/64', dev: 'eth0' }])).toEqual([]);
  });

  it('takes 172.17.0.0/16 on a clean host', () => {
    expect(formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, routedSubnets(ROUTES.slice(0, 2))))).toBe(
      '172.17.0.0/16',
    );
  });

  it('skips subnets overlapping a route (docker0) or another network', () => {
    const routed = routedSubnets(ROUTES);
    expect(formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, routed))).toBe('172.18.0.0/16');
    expect(
      formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, routed, [parseCidr('172.18.0.0/16')])),
    ).toBe('172.19.0.0/16');
    // A smaller route inside a candidate also makes it busy.
    expect(formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, [parseCidr('172.17.200.0/24')]))).toBe(
      '172.18.0.0/16',
    );
  });

  it('falls through to 192.168.0.0/20s, then fails', () => {
    const all172 = [parseCidr('172.16.0.0/12')];
    expect(formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, all172))).toBe('192.168.0.0/20');
    expect(
      formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, [...all172, parseCidr('192.168.1.0/24')])),
    ).toBe('192.168.16.0/20');
    expect(() =>
      chooseSubnet(DEFAULT_ADDRESS_POOLS, [...all172, parseCidr('192.168.0.0/16')]),
    ).toThrow(/non-overlapping/);
  });
});
