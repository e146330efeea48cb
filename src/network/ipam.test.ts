import { describe, expect, it } from 'vitest';

import { SubnetAllocator } from './ipam.js';
import { formatIPv4, parseCidr, parseIPv4 } from './ipv4.js';

describe('SubnetAllocator', () => {
  const gw = parseIPv4('10.0.0.1');
  it('hands out the lowest free address, skipping network, gateway and broadcast', () => {
    const a = new SubnetAllocator(parseCidr('10.0.0.0/29'), [gw]);
    const got = ['a', 'b', 'c', 'd', 'e'].map((o) => formatIPv4(a.allocate(o)));
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(() => a.allocate('f')).toThrow(/no available IPv4 addresses/);
    expect(a.release('c')).toBe(true);
    expect(a.release('c')).toBe(false);
    expect(formatIPv4(a.allocate('f'))).toBe('10.0.0.4');
  });

  it('restores specific addresses and refuses clashes', () => {
    const a = new SubnetAllocator(parseCidr('10.0.0.0/24'), [gw]);
    a.allocate('x', parseIPv4('10.0.0.7'));
    expect(a.get('x')).toBe(parseIPv4('10.0.0.7'));
    expect(() => a.allocate('y', parseIPv4('10.0.0.7'))).toThrow(/already in use/);
    expect(() => a.allocate('y', gw)).toThrow(/not usable/);
    expect(() => a.allocate('y', parseIPv4('10.0.1.7'))).toThrow(/not usable/);
    expect(() => a.allocate('x')).toThrow(/already holds/);
    expect(formatIPv4(a.allocate('y'))).toBe('10.0.0.2');
  });

  it('never hands out one address twice under many owners', () => {
    const a = new SubnetAllocator(parseCidr('172.17.0.0/16'), [parseIPv4('172.17.0.1')]);
    const ips = new Set(Array.from({ length: 500 }, (_, i) => a.allocate(`c${i}`)));
    expect(ips.size).toBe(500);
    expect(a.size).toBe(500);
  });
});
