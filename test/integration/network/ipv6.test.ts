/**
 * Dual-stack user-defined networks (`network create --ipv6`): v4 and v6 addresses per
 * container, inspect as dockerd shows them, v6 traffic between containers and to the gateway,
 * static `--ip6`, AAAA answers from the embedded DNS, /etc/hosts lines, isolation between
 * networks, records across a daemon crash. Through the docker CLI and dockerode. The v6
 * subnets are unique-local prefixes derived from the harness's unique v4 subnets; only
 * addresses on this file's bridges are contacted.
 */
import { spawnSync } from 'node:child_process';

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

/** A dual-stack network: a unique v4 /24 and the v6 /64 fd77:a:b::/64 derived from it. */
function network(extra: string[] = []): {
  name: string;
  id: string;
  subnet6: string;
  ip6: (n: number) => string;
} & ReturnType<typeof uniqueSubnet> {
  const s = uniqueSubnet();
  const [, a, b] = s.subnet.split('.').map(Number) as [number, number, number];
  const prefix = `fd77:${a.toString(16)}:${b.toString(16)}:`;
  const name = uniq('v6net');
  const subnet6 = `${prefix}:/64`;
  const id = ok([
    'network',
    'create',
    '--ipv6',
    '--subnet',
    s.subnet,
    '--subnet',
    subnet6,
    ...extra,
    name,
  ]);
  return { name, id, subnet6, ip6: (n) => `${prefix}:${n.toString(16)}`, ...s };
}

interface EndpointInfo {
  IPAddress: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPv6Gateway: string;
}
const endpoint = (c: string, net: string): EndpointInfo =>
  JSON.parse(
    ok(['inspect', '-f', `{{json (index .NetworkSettings.Networks "${net}")}}`, c]),
  ) as EndpointInfo;

/** The AAAA addresses nslookup prints for `name` from container `from` (undefined: none). */
function lookup6(from: string, name: string): string[] | undefined {
  const r = d.cli(['exec', from, 'nslookup', '-type=aaaa', name]);
  if (r.code !== 0) return undefined;
  const body = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  const ips = [...body.matchAll(/Address:\s*([0-9a-f:]+)\s*$/gm)].map((m) => m[1]!);
  return ips.length > 0 ? ips : undefined;
}

/** Our v6 forward chain's rules ([] when the chain does not exist). */
const ip6Rules = (chain: string): string[] =>
  spawnSync('ip6tables', ['-S', chain])
    .stdout.toString()
    .split('\n')
    .filter((l) => l.startsWith('-A '));

const run = (name: string, args: string[], cmd = ['sleep', '300']): string =>
  ok(['run', '-d', '--name', name, ...args, 'busybox', ...cmd]);

describe('IPv6 (dual-stack user-defined networks)', () => {
  it('creates a dual-stack network and shows it as dockerd', () => {
    const n = network();
    const info = JSON.parse(ok(['network', 'inspect', n.name]))[0] as {
      EnableIPv6: boolean;
      IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
    };
    expect(info.EnableIPv6).toBe(true);
    expect(info.IPAM.Config).toEqual([
      { Subnet: n.subnet, Gateway: n.gateway },
      { Subnet: n.subnet6, Gateway: n.ip6(1) },
    ]);
    const bridge =
      ok([
        'network',
        'inspect',
        '-f',
        '{{index .Options "com.docker.network.bridge.name"}}',
        n.name,
      ]) || `br-${n.id.slice(0, 12)}`;
    const addrs = spawnSync('ip', ['-6', '-o', 'addr', 'show', 'dev', bridge]).stdout.toString();
    expect(addrs).toContain(`${n.ip6(1)}/64`);
    ok(['network', 'rm', n.name]);
    expect(spawnSync('ip', ['link', 'show', bridge], { stdio: 'ignore' }).status).not.toBe(0);
  });

  it('gives containers v4 and v6 addresses; v6 traffic, static --ip6, AAAA, /etc/hosts', () => {
    const n = network();
    const a = uniq('a');
    const b = uniq('b');
    const c = uniq('c');
    const idA = run(
      a,
      ['--network', n.name],
      ['sh', '-c', 'mkdir -p /w && echo six > /w/index.html && exec httpd -f -p 8080 -h /w'],
    );
    run(b, ['--network', n.name]);
    run(c, ['--network', n.name, '--ip6', n.ip6(0x99), '--ip', n.ip(99)]);
    const ea = endpoint(a, n.name);
    expect(ea).toMatchObject({
      IPAddress: n.ip(2),
      GlobalIPv6Address: n.ip6(2),
      GlobalIPv6PrefixLen: 64,
      IPv6Gateway: n.ip6(1),
    });
    expect(endpoint(c, n.name)).toMatchObject({
      IPAddress: n.ip(99),
      GlobalIPv6Address: n.ip6(0x99),
    });
    const members = JSON.parse(
      ok(['network', 'inspect', '-f', '{{json .Containers}}', n.name]),
    ) as Record<string, { IPv6Address: string }>;
    expect(members[idA]?.IPv6Address).toBe(`${n.ip6(2)}/64`);
    // Inside: the v6 address and the v6 default route through the gateway.
    expect(
      ok(['exec', a, 'ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']),
    ).toContain(`${n.ip6(2)}/64`);
    expect(ok(['exec', a, 'ip', '-6', 'route', 'show', 'default'])).toMatch(
      new RegExp(`^default via ${n.ip6(1)} dev eth0`),
    );
    // Traffic: container to container over v6, and to the gateway.
    ok(['exec', b, 'ping', '-6', '-c', '1', '-W', '2', n.ip6(2)]);
    ok(['exec', b, 'ping', '-6', '-c', '1', '-W', '2', n.ip6(1)]);
    expect(ok(['exec', b, 'wget', '-qO-', `http://[${n.ip6(2)}]:8080/`])).toBe('six');
    // The embedded DNS answers AAAA with the v6 address.
    expect(lookup6(b, a)).toEqual([n.ip6(2)]);
    expect(lookup6(b, c)).toEqual([n.ip6(0x99)]);
    // /etc/hosts has both addresses for the container's hostname.
    const hosts = ok(['exec', a, 'cat', '/etc/hosts']);
    expect(hosts).toContain(`${n.ip(2)}\t${idA.slice(0, 12)}`);
    expect(hosts).toContain(`${n.ip6(2)}\t${idA.slice(0, 12)}`);
    // The wharf CLI's --ip6.
    const w = d.wharf([
      'run',
      '--rm',
      '--network',
      n.name,
      '--ip6',
      n.ip6(0x77),
      'busybox',
      'ip',
      '-6',
      '-o',
      'addr',
      'show',
      'dev',
      'eth0',
      'scope',
      'global',
    ]);
    expect(w.stderr).toBe('');
    expect(w.stdout).toContain(`${n.ip6(0x77)}/64`);
    // Refusals: taken and out-of-subnet static v6 addresses.
    expect(
      fails(['run', '--rm', '--network', n.name, '--ip6', n.ip6(0x99), 'busybox', 'true']),
    ).toMatch(/Address already in use/);
    expect(
      fails(['run', '--rm', '--network', n.name, '--ip6', 'fd78::5', 'busybox', 'true']),
    ).toMatch(/no configured subnet or ip-range contain the IP address fd78::5/);
    ok(['rm', '-f', a, b, c]);
    ok(['network', 'rm', n.name]);
  });

  it('v6 --ip-range and --aux-address: dynamic addresses from the range, the gateway its first', async () => {
    const s = uniqueSubnet();
    const [, a, b] = s.subnet.split('.').map(Number) as [number, number, number];
    const prefix = `fd76:${a.toString(16)}:${b.toString(16)}:`;
    const subnet6 = `${prefix}:/64`;
    const ip6 = (n: number): string => `${prefix}:${n.toString(16)}`;
    const name = uniq('v6range');
    ok([
      'network',
      'create',
      '--ipv6',
      '--subnet',
      s.subnet,
      '--subnet',
      subnet6,
      '--ip-range',
      `${ip6(0x100)}/120`,
      '--aux-address',
      `held=${ip6(0x102)}`,
      name,
    ]);
    // As dockerd: no gateway given, the range's first address is the gateway.
    const info = (await docker.getNetwork(name).inspect()) as {
      IPAM: { Config: Array<Record<string, unknown>> };
    };
    expect(info.IPAM.Config[1]).toEqual({
      Subnet: subnet6,
      IPRange: `${ip6(0x100)}/120`,
      Gateway: ip6(0x100),
      AuxiliaryAddresses: { held: ip6(0x102) },
    });
    const c1 = uniq('c1');
    const c2 = uniq('c2');
    run(c1, ['--network', name]);
    run(c2, ['--network', name]);
    // 0x100 is the gateway, 0x102 is held: 0x101 then 0x103.
    expect(endpoint(c1, name)).toMatchObject({
      GlobalIPv6Address: ip6(0x101),
      IPv6Gateway: ip6(0x100),
    });
    expect(endpoint(c2, name).GlobalIPv6Address).toBe(ip6(0x103));
    ok(['exec', c1, 'ping', '-6', '-c', '1', '-W', '2', ip6(0x103)]);
    ok(['exec', c1, 'ping', '-6', '-c', '1', '-W', '2', ip6(0x100)]);
    // Static addresses: anywhere in the subnet but not a held one.
    expect(
      ok([
        'run',
        '--rm',
        '--network',
        name,
        '--ip6',
        ip6(7),
        'busybox',
        'ip',
        '-6',
        '-o',
        'addr',
        'show',
        'dev',
        'eth0',
        'scope',
        'global',
      ]),
    ).toContain(`${ip6(7)}/64`);
    expect(
      fails(['run', '--rm', '--network', name, '--ip6', ip6(0x102), 'busybox', 'true']),
    ).toMatch(/Address already in use/);
    // The docker CLI checks the range itself, with the same words as the daemon.
    expect(
      fails([
        'network',
        'create',
        '--ipv6',
        '--subnet',
        subnet6.replace('fd76', 'fd75'),
        '--ip-range',
        'fd74::/80',
        uniq('x'),
      ]),
    ).toMatch(/no matching subnet for range fd74::\/80/);
    ok(['rm', '-f', c1, c2]);
    ok(['network', 'rm', name]);
  });

  it('isolates dual-stack networks from each other over v6; live connect gives a v6 address', () => {
    const n1 = network();
    const n2 = network();
    const a = uniq('a');
    const b = uniq('b');
    run(a, ['--network', n1.name]);
    run(b, ['--network', n2.name]);
    const r = d.cli(['exec', a, 'ping', '-6', '-c', '1', '-W', '1', n2.ip6(2)]);
    expect(r.code).not.toBe(0);
    // Wharf does not turn v6 forwarding on; its own ip6tables chain keeps the networks apart
    // on a host where it is on.
    const br1 = `br-${n1.id.slice(0, 12)}`;
    const br2 = `br-${n2.id.slice(0, 12)}`;
    const chain = `${d.chainPrefix}-FORWARD`;
    expect(ip6Rules(chain)).toEqual(
      expect.arrayContaining([
        `-A ${chain} -i ${br1} -o ${br2} -j DROP`,
        `-A ${chain} -i ${br2} -o ${br1} -j DROP`,
      ]),
    );
    expect(spawnSync('ip6tables', ['-S', 'FORWARD']).stdout.toString()).toContain(`-j ${chain}`);
    ok(['network', 'connect', n2.name, a]);
    expect(endpoint(a, n2.name).GlobalIPv6Address).toBe(n2.ip6(3));
    ok(['exec', a, 'ping', '-6', '-c', '1', '-W', '2', n2.ip6(2)]);
    expect(ok(['exec', a, 'cat', '/etc/hosts'])).toContain(`${n2.ip6(3)}\t`);
    ok(['network', 'disconnect', n2.name, a]);
    expect(ok(['exec', a, 'cat', '/etc/hosts'])).not.toContain(`${n2.ip6(3)}\t`);
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n1.name, n2.name]);
    // The last dual-stack network gone, the v6 chain and its jump go too.
    expect(ip6Rules(chain)).toEqual([]);
    expect(spawnSync('ip6tables', ['-S', 'FORWARD']).stdout.toString()).not.toContain(chain);
  });

  it('keeps v6 allocations across a daemon crash', async () => {
    const n = network();
    const a = uniq('a');
    run(a, ['--network', n.name]);
    await d.crash();
    await d.restart();
    const b = uniq('b');
    run(b, ['--network', n.name]);
    expect(endpoint(a, n.name).GlobalIPv6Address).toBe(n.ip6(2));
    expect(endpoint(b, n.name).GlobalIPv6Address).toBe(n.ip6(3));
    ok(['exec', b, 'ping', '-6', '-c', '1', '-W', '2', n.ip6(2)]);
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
  });

  it('dockerode: --ipv6 without a v6 subnet takes a unique-local /64; refusals', async () => {
    const s = uniqueSubnet();
    const net = await docker.createNetwork({
      Name: uniq('v6auto'),
      EnableIPv6: true,
      IPAM: { Config: [{ Subnet: s.subnet }] },
    });
    const info = (await net.inspect()) as { IPAM: { Config: Array<{ Subnet: string }> } };
    expect(info.IPAM.Config[1]?.Subnet).toMatch(/^fd[0-9a-f]{2}:[0-9a-f:]+::\/64$/);
    await net.remove();
    const refused = async (body: object): Promise<{ statusCode?: number; message: string }> =>
      docker.createNetwork(body as never).then(
        () => ({ message: 'created' }),
        (e: { statusCode?: number; message: string }) => e,
      );
    expect(
      await refused({ Name: uniq('x'), IPAM: { Config: [{ Subnet: 'fd79::/64' }] } }),
    ).toMatchObject({ statusCode: 400, message: expect.stringMatching(/--ipv6/) });
    expect(
      await refused({
        Name: uniq('x'),
        EnableIPv6: true,
        IPAM: { Config: [{ Subnet: 'fd79::/64', IPRange: 'fd7a::/80' }] },
      }),
    ).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/no matching subnet for range fd7a::\/80/),
    });
    expect(
      await refused({
        Name: uniq('x'),
        EnableIPv6: true,
        IPAM: { Config: [{ Subnet: 'fd79::/64', AuxiliaryAddresses: { r: 'fd7a::5' } }] },
      }),
    ).toMatchObject({
      statusCode: 403,
      message: expect.stringMatching(
        /auxiliary address: \(r:fd7a::5\) must belong to the master pool: fd79::\/64/,
      ),
    });
    // Several subnets of one family: dockerd 20.10's bridge driver refuses them too.
    for (const Config of [
      [{ Subnet: s.subnet }, { Subnet: uniqueSubnet().subnet }],
      [{ Subnet: s.subnet }, { Subnet: 'fd79::/64' }, { Subnet: 'fd7b::/64' }],
    ])
      expect(await refused({ Name: uniq('x'), EnableIPv6: true, IPAM: { Config } })).toMatchObject({
        statusCode: 403,
        message: expect.stringMatching(/bridge driver doesn't support multiple subnets/),
      });
    expect(
      await refused({
        Name: uniq('x'),
        EnableIPv6: true,
        IPAM: { Config: [{ Subnet: 'fd79::1/64' }] },
      }),
    ).toMatchObject({ statusCode: 400, message: expect.stringMatching(/it should be fd79::\/64/) });
  });
});
