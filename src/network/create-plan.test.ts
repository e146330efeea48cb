import { describe, expect, it } from 'vitest';

import { planNetwork } from './create-plan.js';
import { formatCidr, formatIPv4 } from './ipv4.js';

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
      /ip-range/,
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
});
