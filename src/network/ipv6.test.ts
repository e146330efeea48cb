import { describe, expect, it } from 'vitest';

import {
  cidr6Contains,
  formatCidr6,
  formatIPv6,
  macDerivedIPv6,
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

describe('macDerivedIPv6 (dockerd default bridge addresses)', () => {
  it('puts the MAC in the low 48 bits of a subnet with at least 48 host bits', () => {
    expect(formatIPv6(macDerivedIPv6(parseCidr6('fd42:77:1::/64'), '02:42:0a:e7:4d:02'))).toBe(
      'fd42:77:1::242:ae7:4d02',
    );
    expect(formatIPv6(macDerivedIPv6(parseCidr6('fd42::/80'), '02:42:ac:11:00:02'))).toBe(
      'fd42::242:ac11:2',
    );
  });

  it("refuses a subnet too small for it (dockerd's words)", () => {
    expect(() => macDerivedIPv6(parseCidr6('fd42::/96'), '02:42:ac:11:00:02')).toThrow(
      'Cannot self generate an IPv6 address on network fd42::/96: At least 48 host bits are needed.',
    );
  });
});

describe('Subnet6Allocator with an ip-range', () => {
  it('hands dynamic addresses out of the range only, static ones anywhere in the subnet', () => {
    const a = new Subnet6Allocator(
      parseCidr6('fd00:9::/64'),
      [parseIPv6('fd00:9::1')],
      parseCidr6('fd00:9::100/120'),
    );
    expect(formatIPv6(a.allocate('x'))).toBe('fd00:9::100');
    expect(formatIPv6(a.allocate('y'))).toBe('fd00:9::101');
    expect(formatIPv6(a.allocate('z', parseIPv6('fd00:9::5')))).toBe('fd00:9::5');
  });
});
