/**
 * `network connect` / `disconnect` of the default bridge after create (running and stopped
 * containers, on the default bridge or on a user-defined network), and /etc/hosts following
 * live connects and disconnects as dockerd's does (a line per endpoint). Through the docker
 * CLI and dockerode; only addresses on the test daemon's bridges are contacted.
 */

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, uniqueSubnet, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';
import { cliFails, cliOk, dockerode, stopClean } from './helpers.js';

let d: DaemonHandle;
let docker: Docker;
beforeAll(async () => {
  d = await startDaemon();
  docker = dockerode(d);
});
afterAll(async () => {
  await stopClean(d, docker);
});

const ok = (args: string[]): string => cliOk(d, args);
const fails = (args: string[]): string => cliFails(d, args);

/** A network on a unique test subnet. */
function network(): { name: string } & ReturnType<typeof uniqueSubnet> {
  const s = uniqueSubnet();
  const name = uniq('net');
  ok(['network', 'create', '--subnet', s.subnet, name]);
  return { name, ...s };
}

/** The container's IPv4 addresses by interface ("eth0" → "10.1.2.3"), from inside it. */
function addresses(c: string): Record<string, string> {
  const out = ok(['exec', c, 'ip', '-o', '-4', 'addr', 'show']);
  const map: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\//.exec(line);
    if (m && m[1] !== 'lo') map[m[1]!] = m[2]!;
  }
  return map;
}

const ipOn = (c: string, net: string): string =>
  ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c]);
const networksOf = (c: string): string[] =>
  Object.keys(
    JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', c])) as object,
  ).sort();
const hostsLines = (c: string): string[] =>
  ok(['exec', c, 'cat', '/etc/hosts'])
    .split('\n')
    .filter((l) => /^\d+\.\d+\.\d+\.\d+\s/.test(l) && !l.startsWith('127.'))
    .filter((l) => !l.endsWith('\thost.docker.internal'));
const bridgeMembers = (): string[] =>
  Object.values(
    JSON.parse(ok(['network', 'inspect', '-f', '{{json .Containers}}', 'bridge'])) as Record<
      string,
      { Name: string }
    >,
  ).map((c) => c.Name);
const run = (name: string, extra: string[] = []): string =>
  ok(['run', '-d', '--name', name, ...extra, 'busybox', 'sleep', '300']);

describe('network connect / disconnect of the default bridge', () => {
  it('a running default-bridge container: disconnect, connect again, refusals', () => {
    const c = uniq('c');
    const id = run(c);
    const host = id.slice(0, 12);
    const first = ipOn(c, 'bridge');
    expect(addresses(c)).toEqual({ eth0: first });
    expect(hostsLines(c)).toContain(`${first}\t${host}`);

    ok(['network', 'disconnect', 'bridge', c]);
    expect(addresses(c)).toEqual({});
    expect(networksOf(c)).toEqual([]);
    expect(bridgeMembers()).not.toContain(c);
    expect(hostsLines(c).filter((l) => l.endsWith(`\t${host}`))).toEqual([]);
    expect(fails(['network', 'disconnect', 'bridge', c])).toMatch(
      /is not connected to network bridge/,
    );

    ok(['network', 'connect', 'bridge', c]);
    const second = ipOn(c, 'bridge');
    expect(addresses(c)).toEqual({ eth0: second });
    expect(bridgeMembers()).toContain(c);
    expect(hostsLines(c)).toContain(`${second}\t${host}`);
    // The way out is back: the default route goes through the bridge's gateway.
    const gw = ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'bridge']);
    expect(ok(['exec', c, 'ip', 'route', 'show', 'default'])).toMatch(
      new RegExp(`^default via ${gw.replace(/\./g, '\\.')} dev eth0`),
    );
    ok(['exec', c, 'ping', '-c', '1', '-W', '2', gw]);

    expect(fails(['network', 'connect', 'bridge', c])).toMatch(
      /endpoint with name .* already exists in network bridge/,
    );
    expect(fails(['network', 'connect', '--alias', 'x', 'bridge', c])).toMatch(
      /network-scoped alias is supported only for containers in user defined networks/,
    );
    ok(['rm', '-f', c]);
  });

  it('a stopped container: the change takes effect at its next start', () => {
    const c = uniq('c');
    run(c);
    ok(['stop', '-t', '0', c]);
    ok(['network', 'disconnect', 'bridge', c]);
    expect(networksOf(c)).toEqual([]);
    ok(['start', c]);
    expect(addresses(c)).toEqual({});
    expect(networksOf(c)).toEqual([]);
    ok(['stop', '-t', '0', c]);
    ok(['network', 'connect', 'bridge', c]);
    expect(networksOf(c)).toEqual(['bridge']);
    ok(['start', c]);
    expect(Object.keys(addresses(c))).toEqual(['eth0']);
    expect(addresses(c)['eth0']).toBe(ipOn(c, 'bridge'));
    ok(['rm', '-f', c]);
  });

  it('a container on a user network joins the bridge as eth1 and is reachable there', () => {
    const n = network();
    const c = uniq('c');
    const id = run(c, ['--network', n.name]);
    const host = id.slice(0, 12);
    const peer = uniq('peer');
    run(peer);
    ok(['network', 'connect', 'bridge', c]);
    const onBridge = ipOn(c, 'bridge');
    expect(addresses(c)).toEqual({ eth0: ipOn(c, n.name), eth1: onBridge });
    // The user network keeps the default route; the bridge address answers a bridge peer.
    expect(ok(['exec', c, 'ip', 'route', 'show', 'default'])).toMatch(
      new RegExp(`^default via ${n.gateway.replace(/\./g, '\\.')} dev eth0`),
    );
    ok(['exec', peer, 'ping', '-c', '1', '-W', '2', onBridge]);
    expect(hostsLines(c)).toEqual(
      expect.arrayContaining([`${ipOn(c, n.name)}\t${host}`, `${onBridge}\t${host}`]),
    );
    // At the next start both are there again, the default bridge first (as dockerd).
    ok(['stop', '-t', '0', c]);
    ok(['start', c]);
    const after = addresses(c);
    expect(after).toEqual({ eth0: ipOn(c, 'bridge'), eth1: ipOn(c, n.name) });
    expect(hostsLines(c)).toEqual([`${after['eth0']}\t${host}`, `${after['eth1']}\t${host}`]);
    ok(['network', 'disconnect', 'bridge', c]);
    expect(addresses(c)).toEqual({ eth1: ipOn(c, n.name) });
    expect(hostsLines(c)).toEqual([`${after['eth1']}\t${host}`]);
    expect(networksOf(c)).toEqual([n.name]);
    ok(['rm', '-f', c, peer]);
  });

  it('dockerode: connect and disconnect the bridge; shared namespaces are refused', async () => {
    const c = await docker.createContainer({
      Image: 'busybox',
      Cmd: ['sleep', '300'],
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    const bridge = docker.getNetwork('bridge');
    const err = await bridge.connect({ Container: c.id }).then(
      () => undefined,
      (e: { statusCode?: number; message: string }) => e,
    );
    expect(err?.statusCode).toBe(403);
    expect(err?.message).toMatch(/sharing network namespace .* cannot be connected/);
    await c.remove({ force: true });

    const b = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'] });
    await b.start();
    await bridge.disconnect({ Container: b.id });
    expect((await b.inspect()).NetworkSettings.Networks).toEqual({});
    await bridge.connect({ Container: b.id });
    const info = await b.inspect();
    expect(info.NetworkSettings.Networks['bridge']?.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // The legacy top-level fields follow the default bridge endpoint, as dockerd's.
    const top = info.NetworkSettings as unknown as { IPAddress: string };
    expect(top.IPAddress).toBe(info.NetworkSettings.Networks['bridge']?.IPAddress);
    await b.remove({ force: true });
  });
});

describe('default bridge connected live, across a daemon crash', () => {
  it('keeps the hot-plugged endpoint and its address; disconnect works after the restart', async () => {
    const n = network();
    const c = uniq('c');
    run(c, ['--network', n.name]);
    ok(['network', 'connect', 'bridge', c]);
    const onBridge = ipOn(c, 'bridge');
    await d.crash();
    await d.restart();
    expect(ipOn(c, 'bridge')).toBe(onBridge);
    expect(addresses(c)).toEqual({ eth0: ipOn(c, n.name), eth1: onBridge });
    // The address is still held: a new bridge container gets another one.
    const other = uniq('o');
    run(other);
    expect(ipOn(other, 'bridge')).not.toBe(onBridge);
    ok(['exec', other, 'ping', '-c', '1', '-W', '2', onBridge]);
    ok(['network', 'disconnect', 'bridge', c]);
    expect(addresses(c)).toEqual({ eth0: ipOn(c, n.name) });
    ok(['rm', '-f', c, other]);
  });
});

describe('/etc/hosts follows live connect and disconnect', () => {
  it('adds a line for a new network and removes only the disconnected one', () => {
    const n1 = network();
    const n2 = network();
    const c = uniq('c');
    const id = run(c, ['--network', n1.name, '--add-host', 'zz:192.0.2.1']);
    const host = id.slice(0, 12);
    const a1 = ipOn(c, n1.name);
    expect(hostsLines(c)).toEqual(['192.0.2.1\tzz', `${a1}\t${host}`]);
    ok(['network', 'connect', '--alias', 'second', n2.name, c]);
    const a2 = ipOn(c, n2.name);
    expect(hostsLines(c)).toEqual(['192.0.2.1\tzz', `${a1}\t${host}`, `${a2}\t${host}`]);
    ok(['network', 'disconnect', n1.name, c]);
    expect(hostsLines(c)).toEqual(['192.0.2.1\tzz', `${a2}\t${host}`]);
    // A stopped container's file is rewritten at its next start, a line per network.
    ok(['stop', '-t', '0', c]);
    ok(['network', 'connect', n1.name, c]);
    ok(['start', c]);
    const lines = hostsLines(c);
    expect(lines[0]).toBe('192.0.2.1\tzz');
    expect(lines.slice(1).sort()).toEqual(
      [`${ipOn(c, n1.name)}\t${host}`, `${ipOn(c, n2.name)}\t${host}`].sort(),
    );
    ok(['rm', '-f', c]);
  });
});
