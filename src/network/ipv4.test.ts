import { describe, expect, it } from 'vitest';

import {
  broadcastOf,
  cidrContains,
  cidrOverlaps,
  formatCidr,
  formatIPv4,
  isValidMac,
  macFromIPv4,
  parseCidr,
  parseIPv4,
  parseIPv4Prefix,
  splitCidr,
} from './ipv4.js';

describe('ipv4', () => {
  it('parses and formats addresses', () => {
    expect(parseIPv4('172.17.0.2')).toBe(0xac110002);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(formatIPv4(0xac110002)).toBe('172.17.0.2');
    expect(formatIPv4(0xffffffff)).toBe('255.255.255.255');
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', 'a.b.c.d', '1.2.3.4 ', '']) {
      expect(() => parseIPv4(bad)).toThrow(/invalid IPv4/);
    }
  });

  it('parses subnets, clearing host bits', () => {
    expect(formatCidr(parseCidr('10.1.2.3/16'))).toBe('10.1.0.0/16');
    expect(formatCidr(parseCidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
    expect(formatCidr(parseCidr('192.168.1.1/32'))).toBe('192.168.1.1/32');
    expect(parseIPv4Prefix('10.99.0.1/24')).toEqual({ ip: parseIPv4('10.99.0.1'), prefixLen: 24 });
    expect(() => parseCidr('10.0.0.0')).toThrow(/no prefix/);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length/);
  });

  it('computes broadcast, containment and overlap', () => {
    const c = parseCidr('172.17.0.0/16');
    expect(formatIPv4(broadcastOf(c))).toBe('172.17.255.255');
    expect(cidrContains(c, parseIPv4('172.17.3.4'))).toBe(true);
    expect(cidrContains(c, parseIPv4('172.18.0.1'))).toBe(false);
    expect(cidrOverlaps(c, parseCidr('172.16.0.0/12'))).toBe(true);
    expect(cidrOverlaps(c, parseCidr('172.17.5.0/24'))).toBe(true);
    expect(cidrOverlaps(c, parseCidr('172.18.0.0/16'))).toBe(false);
    expect(cidrOverlaps(parseCidr('255.255.255.0/24'), parseCidr('255.255.255.255/32'))).toBe(true);
  });

  it('splits a pool', () => {
    const parts = [...splitCidr(parseCidr('192.168.0.0/16'), 20)].map(formatCidr);
    expect(parts).toHaveLength(16);
    expect(parts[0]).toBe('192.168.0.0/20');
    expect(parts[1]).toBe('192.168.16.0/20');
    expect(parts[15]).toBe('192.168.240.0/20');
    expect(() => [...splitCidr(parseCidr('10.0.0.0/16'), 8)]).toThrow();
  });

  it('derives MACs from addresses as Docker does', () => {
    expect(macFromIPv4(parseIPv4('172.17.0.2'))).toBe('02:42:ac:11:00:02');
    expect(macFromIPv4(parseIPv4('10.213.255.254'))).toBe('02:42:0a:d5:ff:fe');
    expect(isValidMac('02:42:ac:11:00:02')).toBe(true);
    expect(isValidMac('01:00:5e:00:00:01')).toBe(false); // multicast
    expect(isValidMac('02:42:ac:11:00')).toBe(false);
  });
});
