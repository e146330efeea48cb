import { describe, expect, it } from 'vitest';

import {
  attachLines,
  batchToken,
  bridgeLines,
  checkIfName,
  containerIfLines,
  containerVethLines,
  deleteLinkLines,
  hostVethLines,
  ipBatchArgv,
  isNoSuchDevice,
} from './iproute.js';

describe('ip batch builders', () => {
  it('creates a bridge with its gateway address', () => {
    expect(
      bridgeLines({
        name: 'wharf0',
        create: true,
        address: '172.17.0.1/16',
        addAddress: true,
        staleAddresses: [],
      }),
    ).toEqual([
      'link add name wharf0 type bridge',
      'addr add 172.17.0.1/16 brd + dev wharf0',
      'link set dev wharf0 up',
    ]);
  });

  it('fixes up an existing bridge without recreating it', () => {
    expect(
      bridgeLines({
        name: 'wharf0',
        create: false,
        mtu: 1400,
        address: '10.99.0.1/24',
        addAddress: true,
        staleAddresses: ['172.17.0.1/16'],
      }),
    ).toEqual([
      'link set dev wharf0 mtu 1400',
      'addr del 172.17.0.1/16 dev wharf0',
      'addr add 10.99.0.1/24 brd + dev wharf0',
      'link set dev wharf0 up',
    ]);
  });

  it('creates the veth pair in one request, container end inside its namespace', () => {
    expect(
      hostVethLines({
        hostVeth: 'veth0123456789a',
        bridge: 'wharf0',
        ifName: 'eth0',
        mtu: 1500,
        macAddress: '02:42:ac:11:00:02',
        netnsPath: '/run/wharf/netns/abc',
      }),
    ).toEqual([
      'link add name veth0123456789a mtu 1500 master wharf0 up type veth peer name eth0 mtu 1500 address 02:42:ac:11:00:02 netns /run/wharf/netns/abc',
    ]);
  });

  it('can make the pair from inside the namespace, then attach the host end', () => {
    expect(
      containerVethLines({
        ifName: 'eth0',
        hostVeth: 'veth0123456789a',
        mtu: 1450,
        macAddress: '02:42:ac:11:00:02',
        hostNetnsPath: '/proc/42/ns/net',
      }),
    ).toEqual([
      'link add name eth0 mtu 1450 address 02:42:ac:11:00:02 type veth peer name veth0123456789a mtu 1450 netns /proc/42/ns/net',
    ]);
    expect(attachLines('veth0123456789a', 'wharf0')).toEqual([
      'link set dev veth0123456789a master wharf0 up',
    ]);
  });

  it('configures the container end', () => {
    expect(
      containerIfLines({ ifName: 'eth0', address: '172.17.0.2/16', gateway: '172.17.0.1' }),
    ).toEqual([
      'addr add 172.17.0.2/16 brd + dev eth0',
      'link set dev eth0 up',
      'route add default via 172.17.0.1 dev eth0',
    ]);
    expect(deleteLinkLines(['veth1', 'wharf0'])).toEqual([
      'link del dev veth1',
      'link del dev wharf0',
    ]);
  });

  it('refuses names and paths that would break the batch syntax', () => {
    expect(() => checkIfName('a-name-longer-than-15')).toThrow(/1-15/);
    expect(() => checkIfName('bad name')).toThrow();
    expect(() => checkIfName('..')).toThrow();
    expect(() => batchToken('/run/my dir/x', 'netns path')).toThrow(/cannot be passed/);
    expect(() => batchToken('/run/x"y', 'netns path')).toThrow();
    expect(() =>
      containerIfLines({ ifName: 'eth0', address: '1.2.3.4/8\nlink del wharf0' }),
    ).toThrow();
  });

  it('builds argv, entering a namespace by path with nsenter', () => {
    expect(ipBatchArgv()).toEqual(['ip', '-batch', '-']);
    expect(ipBatchArgv('/run/wharf/netns/x', true)).toEqual([
      'nsenter',
      '--net=/run/wharf/netns/x',
      'ip',
      '-force',
      '-batch',
      '-',
    ]);
  });

  it('recognises "no such device"', () => {
    expect(isNoSuchDevice('Cannot find device "veth123"\nCommand failed -:1')).toBe(true);
    expect(isNoSuchDevice('RTNETLINK answers: Operation not permitted')).toBe(false);
  });
});
