/**
 * User-defined bridge networks through the docker CLI and dockerode: create with IPAM options,
 * ls filters, inspect, rm refused while attached, prune; containers with --network, --ip,
 * --network-alias; isolation between networks; --internal; live connect/disconnect; state
 * across a daemon crash. Every subnet comes from the harness (unique per test), and only
 * addresses on bridges this file creates are contacted.
 */
import { spawnSync } from 'node:child_process';

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, uniqueSubnet, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';
import { dockerode, stopClean } from './helpers.js';

let d: DaemonHandle;
let docker: Docker;
/** daemon.json default-address-pools: a unique /24 split into /26s. */
const pool = uniqueSubnet();
beforeAll(async () => {
  d = await startDaemon({
    daemonJson: { 'default-address-pools': [{ base: pool.subnet, size: 26 }] },
  });
  docker = dockerode(d);
});
afterAll(async () => {
  await stopClean(d, docker);
});

/** The parts of GET /networks/{id} the tests read. */
interface NetInfo {
  IPAM: { Config: unknown[] };
  Containers: Record<string, { Name: string; IPv4Address: string }>;
  [key: string]: unknown;
}

const ok = (args: string[]): string => {
  const r = d.cli(args);
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
};
const fails = (args: string[]): string => {
  const r = d.cli(args);
  expect(r.code, `docker ${args.join(' ')} should fail: ${r.stdout}`).not.toBe(0);
  return r.stderr;
};
const linkExists = (name: string): boolean =>
  spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;

/** A network on a unique test subnet; returns its name and addresses. */
function network(
  extra: string[] = [],
): { name: string; id: string } & ReturnType<typeof uniqueSubnet> {
  const s = uniqueSubnet();
  const name = uniq('net');
  const id = ok(['network', 'create', '--subnet', s.subnet, ...extra, name]);
  return { name, id, ...s };
}

describe('network create / ls / inspect / rm', () => {
  it('creates a bridge with IPAM options, labels and a bridge name, and shows them as Docker', async () => {
    const s = uniqueSubnet();
    const name = uniq('ipam');
    const br = `wt${name.slice(-6)}`;
    const id = ok([
      'network',
      'create',
      '--subnet',
      s.subnet,
      '--gateway',
      s.ip(254),
      '--ip-range',
      `${s.subnet.replace(/\.0\/24$/, '.128')}/25`,
      '--aux-address',
      `reserved=${s.ip(130)}`,
      '--label',
      'team=net',
      '-o',
      `com.docker.network.bridge.name=${br}`,
      name,
    ]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(linkExists(br)).toBe(true);
    const info = (await docker.getNetwork(name).inspect()) as unknown as NetInfo;
    expect(info).toMatchObject({
      Name: name,
      Id: id,
      Driver: 'bridge',
      Scope: 'local',
      Internal: false,
      Labels: { team: 'net' },
      Options: { 'com.docker.network.bridge.name': br },
    });
    expect(info.IPAM.Config).toEqual([
      {
        Subnet: s.subnet,
        Gateway: s.ip(254),
        IPRange: `${s.subnet.replace(/\.0\/24$/, '.128')}/25`,
        AuxiliaryAddresses: { reserved: s.ip(130) },
      },
    ]);
    // Dynamic addresses come from the ip-range (its first address is a host of the subnet).
    const c = uniq('c');
    ok(['run', '-d', '--name', c, '--network', name, 'busybox', 'sleep', '300']);
    const ip = ok([
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${name}").IPAddress}}`,
      c,
    ]);
    expect(ip).toBe(s.ip(128));
    ok(['rm', '-f', c]);
    ok(['network', 'rm', name]);
    expect(linkExists(br)).toBe(false);
  });

  it('takes the gateway from the ip-range when none is given (as dockerd)', () => {
    const s = uniqueSubnet();
    const name = uniq('rangegw');
    ok(['network', 'create', '--subnet', s.subnet, '--ip-range', `${s.ip(128)}/25`, name]);
    expect(ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', name])).toBe(
      s.ip(128),
    );
    const c = uniq('c');
    ok(['run', '-d', '--name', c, '--network', name, 'busybox', 'sleep', '300']);
    expect(
      ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${name}").IPAddress}}`, c]),
    ).toBe(s.ip(129));
    ok(['rm', '-f', c]);
    ok(['network', 'rm', name]);
  });

  it('takes subnets from default-address-pools when none is given', async () => {
    const a = uniq('pool');
    const b = uniq('pool');
    ok(['network', 'create', a]);
    ok(['network', 'create', b]);
    const subnetOf = (n: string): string =>
      ok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', n]);
    const prefix = pool.subnet.replace(/\.0\/24$/, '');
    expect([subnetOf(a), subnetOf(b)].sort()).toEqual(
      [`${prefix}.0/26 ${prefix}.1`, `${prefix}.64/26 ${prefix}.65`].sort(),
    );
    ok(['network', 'rm', a, b]);
  });

  it('refuses duplicates, overlaps, bad input and the predefined networks, with Docker statuses', async () => {
    const n = network();
    expect(fails(['network', 'create', n.name])).toMatch(/already exists/);
    expect(fails(['network', 'create', '--subnet', n.subnet, uniq('dup')])).toMatch(/overlaps/);
    expect(fails(['network', 'create', '--subnet', '10.1.2.3/33', uniq('bad')])).toMatch(
      /invalid/i,
    );
    expect(fails(['network', 'create', 'bridge'])).toMatch(/pre-defined/);
    expect(fails(['network', 'rm', 'bridge'])).toMatch(/pre-defined network and cannot be removed/);
    expect(fails(['network', 'rm', uniq('nope')])).toMatch(/not found/);
    expect(fails(['network', 'create', '-d', 'overlay2x', uniq('drv')])).toMatch(
      /plugin not found/,
    );
    await expect(docker.createNetwork({ Name: 'bad name!' })).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(docker.getNetwork('bridge').remove()).rejects.toMatchObject({ statusCode: 403 });
    ok(['network', 'rm', n.name]);
  });

  it('lists with filters: name, id, label, driver, type, dangling', () => {
    const a = network(['--label', 'tier=a']);
    const b = network(['--label', 'tier=b']);
    const names = (f: string[]): string[] =>
      ok(['network', 'ls', '--format', '{{.Name}}', ...f.flatMap((x) => ['--filter', x])])
        .split('\n')
        .filter(Boolean);
    expect(names([])).toEqual(expect.arrayContaining(['bridge', 'host', 'none', a.name, b.name]));
    expect(names([`name=${a.name}`])).toEqual([a.name]);
    expect(names([`id=${b.id.slice(0, 12)}`])).toEqual([b.name]);
    expect(names(['label=tier=a'])).toEqual([a.name]);
    expect(names(['type=builtin']).sort()).toEqual(['bridge', 'host', 'none']);
    expect(names(['type=custom'])).toEqual(expect.arrayContaining([a.name, b.name]));
    expect(names(['type=custom'])).not.toContain('bridge');
    expect(names(['driver=null'])).toEqual(['none']);
    const c = uniq('c');
    ok(['run', '-d', '--name', c, '--network', a.name, 'busybox', 'sleep', '300']);
    expect(names(['dangling=true'])).toContain(b.name);
    expect(names(['dangling=true'])).not.toContain(a.name);
    expect(fails(['network', 'ls', '--filter', 'colour=red'])).toMatch(/invalid filter/);
    ok(['rm', '-f', c]);
    ok(['network', 'rm', a.name, b.name]);
  });

  it('refuses rm while a container is attached (403), and prunes unused networks', async () => {
    const n = network(['--label', 'prune=me']);
    const keep = network();
    const c = uniq('c');
    ok(['run', '-d', '--name', c, '--network', n.name, 'busybox', 'sleep', '300']);
    await expect(docker.getNetwork(n.name).remove()).rejects.toMatchObject({ statusCode: 403 });
    expect(fails(['network', 'rm', n.name])).toMatch(/has active endpoints/);
    // A running container keeps its network through prune.
    ok(['network', 'prune', '-f', '--filter', 'label=prune=me']);
    expect(ok(['network', 'ls', '-q', '--filter', `name=${n.name}`])).not.toBe('');
    ok(['rm', '-f', c]);
    const out = ok(['network', 'prune', '-f', '--filter', 'label=prune=me']);
    expect(out).toContain(n.name);
    expect(ok(['network', 'ls', '-q', '--filter', `name=${n.name}`])).toBe('');
    expect(ok(['network', 'ls', '-q', '--filter', `name=${keep.name}`])).not.toBe('');
    ok(['network', 'rm', keep.name]);
  });
});

describe('containers on user-defined networks', () => {
  it('--ip, --network-alias, inspect shapes, and traffic within the network', async () => {
    const n = network();
    const a = uniq('a');
    const b = uniq('b');
    ok([
      'run',
      '-d',
      '--name',
      a,
      '--network',
      n.name,
      '--ip',
      n.ip(50),
      '--network-alias',
      'web',
      'busybox',
      'sleep',
      '300',
    ]);
    ok(['run', '-d', '--name', b, '--network', n.name, 'busybox', 'sleep', '300']);
    const info = await docker.getContainer(a).inspect();
    const ep = info.NetworkSettings.Networks[n.name]!;
    expect(info.HostConfig.NetworkMode).toBe(n.name);
    expect(ep).toMatchObject({
      IPAddress: n.ip(50),
      IPPrefixLen: 24,
      Gateway: n.gateway,
      NetworkID: n.id,
      Aliases: ['web'],
      IPAMConfig: { IPv4Address: n.ip(50) },
    });
    expect((ep as { DNSNames?: string[] }).DNSNames).toEqual([a, 'web', info.Id.slice(0, 12)]);
    expect(ep.EndpointID).toMatch(/^[0-9a-f]{64}$/);
    const net = (await docker.getNetwork(n.name).inspect()) as unknown as NetInfo;
    expect(net.Containers[info.Id]).toMatchObject({ Name: a, IPv4Address: `${n.ip(50)}/24` });
    expect(Object.keys(net.Containers)).toHaveLength(2);
    // Traffic between the two containers, and from the host to the gateway-side.
    expect(d.cli(['exec', b, 'ping', '-c1', '-W2', n.ip(50)]).code).toBe(0);
    expect(ok(['exec', a, 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).toContain(`${n.ip(50)}/24`);
    // A taken static address is a clear error at start.
    const c = uniq('c');
    const r = d.cli([
      'run',
      '--rm',
      '--name',
      c,
      '--network',
      n.name,
      '--ip',
      n.ip(50),
      'busybox',
      'true',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Address already in use/);
    // --ip outside the subnet, and on the default bridge.
    expect(
      fails(['run', '--rm', '--network', n.name, '--ip', '192.0.2.9', 'busybox', 'true']),
    ).toMatch(/no configured subnet/);
    expect(fails(['run', '--rm', '--ip', '192.0.2.9', 'busybox', 'true'])).toMatch(
      /user defined networks only/,
    );
    expect(fails(['run', '--rm', '--network', uniq('missing'), 'busybox', 'true'])).toMatch(
      /not found/,
    );
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
  });

  it('isolates networks from each other and from the default bridge', () => {
    const n1 = network();
    const n2 = network();
    const a = uniq('a');
    const b = uniq('b');
    const c = uniq('c');
    ok(['run', '-d', '--name', a, '--network', n1.name, 'busybox', 'sleep', '300']);
    ok(['run', '-d', '--name', b, '--network', n2.name, 'busybox', 'sleep', '300']);
    ok(['run', '-d', '--name', c, 'busybox', 'sleep', '300']);
    const ipOf = (x: string, net: string): string =>
      ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, x]);
    const ipB = ipOf(b, n2.name);
    const ipC = ipOf(c, 'bridge');
    expect(d.cli(['exec', a, 'ping', '-c1', '-W1', ipB]).code).not.toBe(0);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W1', ipC]).code).not.toBe(0);
    expect(d.cli(['exec', c, 'ping', '-c1', '-W1', ipOf(a, n1.name)]).code).not.toBe(0);
    // Each still reaches its own gateway.
    expect(d.cli(['exec', a, 'ping', '-c1', '-W2', n1.gateway]).code).toBe(0);
    ok(['rm', '-f', a, b, c]);
    ok(['network', 'rm', n1.name, n2.name]);
  });

  it('--internal: no default route, nothing leaves the subnet, containers inside still talk', () => {
    const n = network(['--internal']);
    const out = network();
    const a = uniq('a');
    const b = uniq('b');
    const x = uniq('x');
    ok(['run', '-d', '--name', a, '--network', n.name, 'busybox', 'sleep', '300']);
    ok(['run', '-d', '--name', b, '--network', n.name, 'busybox', 'sleep', '300']);
    ok(['run', '-d', '--name', x, '--network', out.name, 'busybox', 'sleep', '300']);
    expect(ok(['network', 'inspect', '-f', '{{.Internal}}', n.name])).toBe('true');
    expect(ok(['exec', a, 'ip', 'route'])).not.toMatch(/default/);
    const ipB = ok([
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${n.name}").IPAddress}}`,
      b,
    ]);
    const ipX = ok([
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${out.name}").IPAddress}}`,
      x,
    ]);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W2', ipB]).code).toBe(0);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W1', ipX]).code).not.toBe(0);
    // And from outside in.
    const ipA = ok([
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${n.name}").IPAddress}}`,
      a,
    ]);
    expect(d.cli(['exec', x, 'ping', '-c1', '-W1', ipA]).code).not.toBe(0);
    ok(['rm', '-f', a, b, x]);
    ok(['network', 'rm', n.name, out.name]);
  });

  it('enable_icc=false: containers of the network cannot reach each other, only the gateway', () => {
    const n = network(['-o', 'com.docker.network.bridge.enable_icc=false']);
    const a = uniq('a');
    const b = uniq('b');
    ok(['run', '-d', '--name', a, '--network', n.name, 'busybox', 'sleep', '300']);
    ok(['run', '-d', '--name', b, '--network', n.name, 'busybox', 'sleep', '300']);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W1', n.ip(3)]).code).not.toBe(0);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W2', n.gateway]).code).toBe(0);
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
  });

  it('connect and disconnect a running container (hot-plugged ethN), and a stopped one', async () => {
    const n1 = network();
    const n2 = network();
    const a = uniq('a');
    const b = uniq('b');
    ok(['run', '-d', '--name', a, '--network', n1.name, 'busybox', 'sleep', '300']);
    ok(['run', '-d', '--name', b, '--network', n2.name, 'busybox', 'sleep', '300']);
    const ipB = n2.ip(2);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W1', ipB]).code).not.toBe(0);
    ok(['network', 'connect', '--ip', n2.ip(77), '--alias', 'second', n2.name, a]);
    expect(ok(['exec', a, 'ip', '-4', '-o', 'addr', 'show', 'eth1'])).toContain(`${n2.ip(77)}/24`);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W2', ipB]).code).toBe(0);
    const info = await docker.getContainer(a).inspect();
    expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([n1.name, n2.name].sort());
    expect(info.NetworkSettings.Networks[n2.name]).toMatchObject({
      IPAddress: n2.ip(77),
      Aliases: ['second'],
    });
    expect(fails(['network', 'connect', n2.name, a])).toMatch(/already exists/);
    ok(['network', 'disconnect', n2.name, a]);
    expect(d.cli(['exec', a, 'ip', 'link', 'show', 'eth1']).code).not.toBe(0);
    expect(d.cli(['exec', a, 'ping', '-c1', '-W1', ipB]).code).not.toBe(0);
    expect(fails(['network', 'disconnect', n2.name, a])).toMatch(/is not connected/);
    // A stopped container gets the network at its next start.
    ok(['stop', '-t', '0', a]);
    // Stopped: still on its network, without address or endpoint (as dockerd).
    expect(
      ok([
        'inspect',
        '-f',
        `{{with index .NetworkSettings.Networks "${n1.name}"}}[{{.IPAddress}}|{{.EndpointID}}|{{.NetworkID}}]{{end}}`,
        a,
      ]),
    ).toBe(`[||${n1.id}]`);
    ok(['network', 'connect', n2.name, a]);
    ok(['start', a]);
    expect(ok(['exec', a, 'ip', '-4', '-o', 'addr'])).toContain(n2.ip(3));
    // Connecting via dockerode, with an EndpointConfig.
    const c = uniq('c');
    ok(['run', '-d', '--name', c, 'busybox', 'sleep', '300']);
    await docker
      .getNetwork(n1.name)
      .connect({ Container: c, EndpointConfig: { Aliases: ['cee'] } });
    const ci = await docker.getContainer(c).inspect();
    expect(Object.keys(ci.NetworkSettings.Networks).sort()).toEqual(['bridge', n1.name].sort());
    expect(ok(['exec', c, 'ip', '-4', '-o', 'addr', 'show', 'eth1'])).toContain(
      n1.subnet.replace(/\.0\/24$/, '.'),
    );
    ok(['rm', '-f', a, b, c]);
    ok(['network', 'rm', n1.name, n2.name]);
  });

  it('keeps networks and endpoints across a daemon crash; stale devices go at start', async () => {
    const n = network();
    const a = uniq('a');
    ok(['run', '-d', '--name', a, '--network', n.name, '--ip', n.ip(9), 'busybox', 'sleep', '300']);
    const bridgeName = `br-${n.id.slice(0, 12)}`;
    expect(linkExists(bridgeName)).toBe(true);
    await d.crash();
    // A stale veth on our bridge, as a crash mid-connect leaves one.
    spawnSync('ip', ['link', 'add', 'wtstale0', 'type', 'veth', 'peer', 'name', 'wtstale1']);
    spawnSync('ip', ['link', 'set', 'wtstale0', 'master', bridgeName]);
    await d.restart();
    expect(linkExists('wtstale0')).toBe(false);
    expect(ok(['network', 'ls', '-q', '--filter', `name=${n.name}`])).toBe(n.id.slice(0, 12));
    expect(
      ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${n.name}").IPAddress}}`, a]),
    ).toBe(n.ip(9));
    const b = uniq('b');
    ok(['run', '-d', '--name', b, '--network', n.name, 'busybox', 'sleep', '300']);
    expect(d.cli(['exec', b, 'ping', '-c1', '-W2', n.ip(9)]).code).toBe(0);
    await eventually(async () => {
      const net = (await docker.getNetwork(n.name).inspect()) as unknown as NetInfo;
      return Object.keys(net.Containers).length === 2;
    });
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
    expect(linkExists(bridgeName)).toBe(false);
  });
});
