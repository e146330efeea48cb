import { describe, expect, it } from 'vitest';

import { checkContainerNetworkMode, joinedNetns, parseNetworkMode } from './mode.js';

describe('parseNetworkMode', () => {
  it('parses Docker network modes', () => {
    expect(parseNetworkMode(undefined)).toEqual({ kind: 'bridge' });
    expect(parseNetworkMode('default')).toEqual({ kind: 'bridge' });
    expect(parseNetworkMode('bridge')).toEqual({ kind: 'bridge' });
    expect(parseNetworkMode('none')).toEqual({ kind: 'none' });
    expect(parseNetworkMode('host')).toEqual({ kind: 'host' });
    expect(parseNetworkMode('container:web')).toEqual({ kind: 'container', container: 'web' });
    expect(() => parseNetworkMode('container:')).toThrow(/invalid container format/);
    expect(() => parseNetworkMode('mynet')).toThrow(/not supported yet/);
  });
});

describe('checkContainerNetworkMode', () => {
  const mode = { NetworkMode: 'container:web' };
  const check = (req: Parameters<typeof checkContainerNetworkMode>[0]) => () =>
    checkContainerNetworkMode(req);

  it('accepts a plain joiner and other modes with anything', () => {
    expect(check({ HostConfig: mode, ExposedPorts: {}, Hostname: '' })).not.toThrow();
    expect(
      check({ Hostname: 'h', HostConfig: { NetworkMode: 'bridge', Dns: ['1.1.1.1'] } }),
    ).not.toThrow();
  });

  it("refuses in dockerd's order and words", () => {
    expect(check({ HostConfig: { NetworkMode: 'container:' } })).toThrow(
      'Invalid network mode: invalid container format container:<name|id>',
    );
    expect(check({ Hostname: 'h', HostConfig: { ...mode, Dns: ['1.1.1.1'] } })).toThrow(
      'conflicting options: hostname and the network mode',
    );
    expect(check({ HostConfig: { ...mode, Links: ['a:b'] } })).toThrow(/links/);
    expect(check({ HostConfig: { ...mode, Dns: ['1.1.1.1'] } })).toThrow(
      'conflicting options: dns and the network mode',
    );
    expect(check({ HostConfig: { ...mode, ExtraHosts: ['a:1.2.3.4'] } })).toThrow(
      'conflicting options: custom host-to-IP mapping and the network mode',
    );
    expect(check({ MacAddress: '02:42:ac:11:00:02', HostConfig: mode })).toThrow(/mac-address/);
    expect(
      check({
        HostConfig: mode,
        endpoints: { 'container:web': { MacAddress: '02:42:ac:11:00:02' } },
      }),
    ).toThrow(/mac-address/);
    expect(check({ HostConfig: { ...mode, PortBindings: { '80/tcp': [] } } })).toThrow(
      'conflicting options: port publishing and the container type network mode',
    );
    expect(check({ HostConfig: { ...mode, PublishAllPorts: true } })).toThrow(/port publishing/);
    expect(check({ HostConfig: mode, ExposedPorts: { '80/tcp': {} } })).toThrow(
      'conflicting options: port exposing and the container type network mode',
    );
  });
});

describe('joinedNetns', () => {
  it("is the running target's namespace", () => {
    expect(joinedNetns('a', { Id: 'b', State: { Running: true, Pid: 42 } })).toBe(
      '/proc/42/ns/net',
    );
  });
  it('refuses itself and a target that does not run', () => {
    expect(() => joinedNetns('a', { Id: 'a', State: { Running: true, Pid: 42 } })).toThrow(
      'cannot join own network',
    );
    expect(() => joinedNetns('a', { Id: 'b', State: { Running: false, Pid: 0 } })).toThrow(
      'cannot join network of a non running container: b',
    );
  });
});
