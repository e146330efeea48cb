import { describe, expect, it } from 'vitest';

import { planNetwork } from './create-plan.js';
import { formatCidr, formatIPv4 } from './ipv4.js';
import { formatCidr6, formatIPv6 } from './ipv6.js';

describe('planNetwork', () => {
  it('accepts Docker IPAM options', () => {
    const p = planNetwork({
      Name: 'n1',
      Internal: true,
      Labels: { a: 'b' },
      Options: { 'com.docker.network.bridge.name': 'brx', 'com.docker.network.driver.mtu': '1400' },
      IPAM: {
        Config: [
          {
            Subnet: '10.5.0.0/16',
            Gateway: '10.5.0.254',
            IPRange: '10.5.1.0/24',
            AuxiliaryAddresses: { r: '10.5.0.9' },
          },
        ],
      },
    });
    expect(p).toMatchObject({ name: 'n1', internal: true, bridgeName: 'brx', mtu: 1400 });
    expect(formatCidr(p.subnet!)).toBe('10.5.0.0/16');
    expect(formatIPv4(p.gateway!)).toBe('10.5.0.254');
    expect(formatCidr(p.ipRange!)).toBe('10.5.1.0/24');
    expect(p.auxAddresses).toEqual({ r: '10.5.0.9' });
  });

  it.each([
    [{ Name: '' }, /empty/],
    [{ Name: 'bridge' }, /pre-defined/],
    [{ Name: 'a b' }, /invalid network name/],
    [{ Name: 'x', Driver: 'weave' }, /plugin not found/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.1/24' }] } }, /it should be 10.0.0.0\/24/],
    [
      { Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.1.1' }] } },
      /not inside/,
    ],
    [
      { Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/24', IPRange: '10.0.0.0/16' }] } },
      /^no matching subnet for range 10.0.0.0\/16$/,
    ],
    [
      {
        Name: 'x',
        IPAM: { Config: [{ Subnet: '10.0.0.0/24', AuxiliaryAddresses: { a: '10.0.1.1' } }] },
      },
      /^auxiliary address: \(a:10.0.1.1\) must belong to the master pool: 10.0.0.0\/24$/,
    ],
    [{ Name: 'x', IPAM: { Config: [{ Gateway: '10.0.0.1' }] } }, /need a subnet/],
    [{ Name: 'x', Options: { 'com.docker.network.bridge.enable_icc': 'maybe' } }, /enable_icc/],
    [
      { Name: 'x', Options: { 'com.docker.network.unknown': '1' } },
      /unknown bridge network option/,
    ],
    [{ Name: 'x', Labels: { a: 1 } }, /cannot unmarshal/],
  ])('refuses %j', (req, msg) => {
    expect(() => planNetwork(req as never)).toThrow(msg);
  });

  it('plans dual-stack networks (--ipv6) and refuses what Wharf does not do there', () => {
    const p = planNetwork({
      Name: 'n6',
      EnableIPv6: true,
      IPAM: {
        Config: [{ Subnet: '10.6.0.0/24' }, { Subnet: 'fd00:6::/64', Gateway: 'fd00:6::fe' }],
      },
    });
    expect(formatCidr(p.subnet!)).toBe('10.6.0.0/24');
    expect(formatCidr6(p.ipv6!.subnet!)).toBe('fd00:6::/64');
    expect(formatIPv6(p.ipv6!.gateway!)).toBe('fd00:6::fe');
    expect(planNetwork({ Name: 'auto', EnableIPv6: true }).ipv6).toEqual({});
    expect(() => planNetwork({ Name: 'x', IPAM: { Config: [{ Subnet: 'fd00:6::/64' }] } })).toThrow(
      /--ipv6/,
    );
    expect(() =>
      planNetwork({ Name: 'x', EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd00:6::1/64' }] } }),
    ).toThrow(/it should be fd00:6::\/64/);
    expect(() =>
      planNetwork({
        Name: 'x',
        EnableIPv6: true,
        IPAM: { Config: [{ Subnet: 'fd00:6::/64', Gateway: 'fd00:7::1' }] },
      }),
    ).toThrow(/not inside subnet/);
    expect(() =>
      planNetwork({
        Name: 'x',
        EnableIPv6: true,
        IPAM: { Config: [{ Subnet: 'fd00:6::/64' }, { Subnet: 'fd00:7::/64' }] },
      }),
    ).toThrow("bridge driver doesn't support multiple subnets");
    expect(() =>
      planNetwork({
        Name: 'x',
        IPAM: { Config: [{ Subnet: '10.6.0.0/24' }, { Subnet: '10.7.0.0/24' }] },
      }),
    ).toThrow(expect.objectContaining({ kind: 'forbidden' }));
  });

  it('plans a v6 ip-range and auxiliary addresses; refuses them outside the subnet as Docker', () => {
    const p = planNetwork({
      Name: 'r6',
      EnableIPv6: true,
      IPAM: {
        Config: [
          { Subnet: '10.6.0.0/24' },
          {
            Subnet: 'fd00:6::/64',
            IPRange: 'fd00:6::100/120',
            AuxiliaryAddresses: { a: 'fd00:6:0::0101' },
          },
        ],
      },
    });
    expect(formatCidr6(p.ipv6!.ipRange!)).toBe('fd00:6::100/120');
    expect(p.ipv6!.auxAddresses).toEqual({ a: 'fd00:6::101' });
    const v6 = (c: object): object => ({
      Name: 'x',
      EnableIPv6: true,
      IPAM: { Config: [{ Subnet: 'fd00:6::/64', ...c }] },
    });
    expect(() => planNetwork(v6({ IPRange: 'fd00:7::/80' }) as never)).toThrow(
      /^no matching subnet for range fd00:7::\/80$/,
    );
    expect(() => planNetwork(v6({ IPRange: 'fd00:6::/48' }) as never)).toThrow(
      /^no matching subnet for range fd00:6::\/48$/,
    );
    const aux = (): unknown => planNetwork(v6({ AuxiliaryAddresses: { b: 'fd00:7::5' } }) as never);
    expect(aux).toThrow(
      'auxiliary address: (b:fd00:7::5) must belong to the master pool: fd00:6::/64',
    );
    expect(() => aux()).toThrow(expect.objectContaining({ kind: 'forbidden' }));
    expect(() => planNetwork(v6({ AuxiliaryAddresses: { b: 'zz' } }) as never)).toThrow(
      'non parsable secondary ip address (b:zz) passed for network x',
    );
  });
});
