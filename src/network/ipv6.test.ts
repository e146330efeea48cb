import { describe, expect, it } from 'vitest';

import {
  cidr6Contains,
  formatCidr6,
  formatIPv6,
  parseCidr6,
  parseIPv6,
  randomUlaSubnet,
  Subnet6Allocator,
} from './ipv6.js';

describe('IPv6 addresses', () => {
  it('parses and formats as RFC 5952', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
      ['FD00:AB::0:1', 'fd00:ab::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['fe80::', 'fe80::'],
    ];
    for (const [input, out] of cases) expect(formatIPv6(parseIPv6(input))).toBe(out);
  });

  it('refuses malformed addresses', () => {
    for (const bad of [
      '',
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::',
      '10.0.0.1',
    ])
      expect(() => parseIPv6(bad), bad).toThrow(/invalid IPv6 address/);
  });

  it('handles CIDRs', () => {
    const c = parseCidr6('fd00:1:2:3::/64');
    expect(formatCidr6(c)).toBe('fd00:1:2:3::/64');
    expect(cidr6Contains(c, parseIPv6('fd00:1:2:3::42'))).toBe(true);
    expect(cidr6Contains(c, parseIPv6('fd00:1:2:4::42'))).toBe(false);
    expect(formatCidr6(parseCidr6('fd00:1:2:3::9/64'))).toBe('fd00:1:2:3::/64');
    expect(() => parseCidr6('fd00::/129')).toThrow();
    expect(formatCidr6(randomUlaSubnet(Buffer.from([1, 2, 3, 4, 5, 6, 7])))).toBe(
      'fd01:203:405:607::/64',
    );
  });
});

describe('Subnet6Allocator', () => {
  it('hands out the lowest free address, static ones on request', () => {
    const subnet = parseCidr6('fd00:5::/64');
    const a = new Subnet6Allocator(subnet, [parseIPv6('fd00:5::1')]);
    expect(formatIPv6(a.allocate('x'))).toBe('fd00:5::2');
    expect(formatIPv6(a.allocate('y', parseIPv6('fd00:5::99')))).toBe('fd00:5::99');
    expect(() => a.allocate('z', parseIPv6('fd00:5::99'))).toThrow(/in use/);
    expect(() => a.allocate('z', parseIPv6('fd00:5::1'))).toThrow(/not usable/);
    expect(() => a.allocate('z', parseIPv6('fd00:6::1'))).toThrow(/not usable/);
    a.release('x');
    expect(formatIPv6(a.allocate('z'))).toBe('fd00:5::2');
  });
});
