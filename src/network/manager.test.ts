import { describe, expect, it } from 'vitest';

import { formatCidr, formatIPv4 } from './ipv4.js';
import { electBridgeAddress, electBridgeIPv6, hostVethName } from './manager.js';
import { formatCidr6, formatIPv6 } from './ipv6.js';

const ROUTES = [
  { dst: 'default', dev: 'eth0' },
  { dst: '172.17.0.0/16', dev: 'docker0' },
];

function elect(args: Parameters<typeof electBridgeAddress>[0]): string {
  const r = electBridgeAddress(args);
  return `${formatIPv4(r.gateway)} ${formatCidr(r.subnet)}`;
}

describe('electBridgeAddress', () => {
  it('uses bip when set', () => {
    expect(elect({ bip: '10.99.0.5/24', routes: ROUTES, bridgeName: 'wharf0' })).toBe(
      '10.99.0.5 10.99.0.0/24',
    );
    expect(() =>
      electBridgeAddress({ bip: '10.99.0.0/24', routes: [], bridgeName: 'wharf0' }),
    ).toThrow(/gateway/);
    expect(() =>
      electBridgeAddress({ bip: '10.99.0.1/31', routes: [], bridgeName: 'wharf0' }),
    ).toThrow(/small/);
  });

  it('keeps the persisted subnet across restarts, even though it is now routed on our bridge', () => {
    const routes = [...ROUTES, { dst: '172.18.0.0/16', dev: 'wharf0' }];
    expect(
      elect({
        record: { subnet: '172.18.0.0/16', gateway: '172.18.0.1' },
        routes,
        bridgeName: 'wharf0',
      }),
    ).toBe('172.18.0.1 172.18.0.0/16');
  });

  it('adopts an existing bridge address, else elects the first free default pool', () => {
    expect(elect({ deviceAddress: '10.5.0.1/16', routes: ROUTES, bridgeName: 'wharf0' })).toBe(
      '10.5.0.1 10.5.0.0/16',
    );
    expect(elect({ routes: ROUTES, bridgeName: 'wharf0' })).toBe('172.18.0.1 172.18.0.0/16');
    expect(elect({ routes: ROUTES.slice(0, 1), bridgeName: 'wharf0' })).toBe(
      '172.17.0.1 172.17.0.0/16',
    );
  });

  it('names host veths within IFNAMSIZ', () => {
    expect(hostVethName('0123456789abcdef'.repeat(4))).toBe('veth0123456789a');
  });
});

describe('electBridgeIPv6 (daemon ipv6 + fixed-cidr-v6)', () => {
  it('is nothing without ipv6, the subnet and its first address with it', () => {
    expect(electBridgeIPv6(false, 'fd00:1::/64')).toBeUndefined();
    const r = electBridgeIPv6(true, 'fd00:1::5/64')!;
    expect(formatCidr6(r.subnet)).toBe('fd00:1::/64');
    expect(formatIPv6(r.gateway)).toBe('fd00:1::1');
  });

  it("refuses as dockerd 20.10's network controller", () => {
    expect(() => electBridgeIPv6(true, undefined)).toThrow(
      'Error initializing network controller: IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 subnet using --fixed-cidr-v6',
    );
    expect(() => electBridgeIPv6(true, 'garbage')).toThrow(
      'Error initializing network controller: invalid CIDR address: garbage',
    );
  });
});
