import { describe, expect, it } from 'vitest';

import { portRequests, portsView } from './ports.js';

describe('portRequests', () => {
  it('reads PortBindings with host IPs, fixed, random and ranged host ports', () => {
    expect(
      portRequests(
        {
          '80/tcp': [
            { HostIp: '', HostPort: '8080' },
            { HostIp: '127.0.0.1', HostPort: '' },
          ],
          '53/udp': [{ HostPort: '5300-5310' }],
          '81/tcp': null,
        },
        false,
        undefined,
      ),
    ).toEqual([
      { proto: 'tcp', containerPort: 80, hostIp: '', hostPorts: [8080, 8080] },
      { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPorts: [0, 0] },
      { proto: 'udp', containerPort: 53, hostIp: '', hostPorts: [5300, 5310] },
    ]);
  });

  it('adds every exposed port not bound already for -P', () => {
    expect(
      portRequests({ '80/tcp': [{ HostPort: '8080' }] }, true, { '80/tcp': {}, '9000/udp': {} }),
    ).toEqual([
      { proto: 'tcp', containerPort: 80, hostIp: '', hostPorts: [8080, 8080] },
      { proto: 'udp', containerPort: 9000, hostIp: '', hostPorts: [0, 0] },
    ]);
  });

  it('takes IPv6 host addresses, in their canonical form', () => {
    expect(
      portRequests(
        {
          '80/tcp': [
            { HostIp: '::1', HostPort: '8080' },
            { HostIp: 'FD00:0::0001', HostPort: '8081' },
            { HostIp: '::', HostPort: '' },
          ],
        },
        false,
        undefined,
      ).map((r) => r.hostIp),
    ).toEqual(['::1', 'fd00::1', '::']);
  });

  it.each([
    [{ '80/tcp': [{ HostPort: '70000' }] }, /invalid hostPort/],
    [{ '80/tcp': [{ HostPort: '9-3' }] }, /invalid hostPort/],
    [{ 'x/tcp': [{ HostPort: '1' }] }, /invalid containerPort/],
    [{ '80/icmp': [{ HostPort: '1' }] }, /invalid proto/],
    [{ '80/sctp': [{ HostPort: '1' }] }, /sctp/],
    [{ '80/tcp': [{ HostIp: 'nope', HostPort: '1' }] }, /invalid IP address/],
    [{ '80/tcp': [{ HostIp: '[::1]', HostPort: '1' }] }, /invalid IP address: \[::1\]/],
    [{ '80/tcp': [{ HostIp: 'fd00::1::2', HostPort: '1' }] }, /invalid IP address/],
  ])('refuses %j', (b, msg) => {
    expect(() => portRequests(b, false, undefined)).toThrow(msg);
  });
});

describe('portsView', () => {
  it('shows exposed ports as null and published ones with 0.0.0.0 for every address', () => {
    expect(
      portsView(
        [
          { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080 },
          { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 40001 },
        ],
        { '80/tcp': {}, '443/tcp': {} },
      ),
    ).toEqual({
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '127.0.0.1', HostPort: '40001' },
      ],
      '443/tcp': null,
    });
  });

  it('adds :: for a port also held on IPv6 addresses', () => {
    expect(
      portsView([{ proto: 'udp', containerPort: 53, hostIp: '', hostPort: 5353, v6: true }], {}),
    ).toEqual({
      '53/udp': [
        { HostIp: '0.0.0.0', HostPort: '5353' },
        { HostIp: '::', HostPort: '5353' },
      ],
    });
  });
});
