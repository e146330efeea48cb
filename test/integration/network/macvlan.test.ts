/**
 * macvlan networks (`network create -d macvlan -o parent=IF -o macvlan_mode=…`): containers
 * on one parent reach each other, the mode is applied, static --ip, live connect/disconnect,
 * `--internal` / no parent (Wharf makes the parent), dockerd's refusals, a daemon crash.
 * This kernel has no dummy driver, so the test's parents are veth pairs it creates with
 * unique names (`wt<hex>` and `wt<hex>p`) and deletes. Only addresses on them are contacted.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, uniqueSubnet, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';
import { cliFails, cliOk, dockerode, stopClean } from './helpers.js';

let d: DaemonHandle;
let docker: Docker;
const parents: string[] = [];
beforeAll(async () => {
  d = await startDaemon();
  docker = dockerode(d);
});
afterAll(async () => {
  await stopClean(d, docker);
  for (const p of parents) spawnSync('ip', ['link', 'del', p]);
});

const ok = (args: string[]): string => cliOk(d, args);
const fails = (args: string[]): string => cliFails(d, args);
const linkExists = (name: string): boolean =>
  spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;

/** A parent interface for the test: one end of a veth pair, both ends up. */
function parent(): string {
  const name = `wt${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  expect(r.status, r.stderr.toString()).toBe(0);
  parents.push(name);
  spawnSync('ip', ['link', 'set', name, 'up']);
  spawnSync('ip', ['link', 'set', `${name}p`, 'up']);
  return name;
}

function macvlan(extra: string[]): { name: string; id: string } & ReturnType<typeof uniqueSubnet> {
  const s = uniqueSubnet();
  const name = uniq('mv');
  const id = ok([
    'network',
    'create',
    '-d',
    'macvlan',
    '--subnet',
    s.subnet,
    '--gateway',
    s.gateway,
    ...extra,
    name,
  ]);
  return { name, id, ...s };
}

const run = (name: string, args: string[]): string =>
  ok(['run', '-d', '--name', name, ...args, 'busybox', 'sleep', '300']);
const ipOn = (c: string, net: string): string =>
  ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c]);
/** `ip -d link show` of an interface in the container (the host's ip, in its namespace). */
const linkDetails = (c: string, ifName: string): string => {
  const ns = ok(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', c]);
  const r = spawnSync('nsenter', [`--net=${ns}`, 'ip', '-d', 'link', 'show', ifName]);
  return r.status === 0 ? r.stdout.toString() : '';
};
const defaultRoute = (c: string): string =>
  ok(['exec', c, 'ip', 'route'])
    .split('\n')
    .filter((l) => l.startsWith('default'))
    .join('\n')
    .trim();
/** The A addresses nslookup prints for `name` from container `from` (undefined: it failed). */
function lookup(from: string, name: string): string[] | undefined {
  const r = d.cli(['exec', from, 'nslookup', '-type=a', name]);
  if (r.code !== 0) return undefined;
  const body = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  const ips = [...body.matchAll(/Address:\s*([0-9.]+)\s*$/gm)].map((m) => m[1]!);
  return ips.length > 0 ? ips : undefined;
}
const pings = (from: string, to: string): boolean =>
  d.cli(['exec', from, 'ping', '-c', '1', '-W', '1', to]).code === 0;

describe('macvlan networks', () => {
  it('containers on a parent reach each other; inspect; static --ip; refusals', () => {
    const p = parent();
    const n = macvlan(['-o', `parent=${p}`]);
    const info = JSON.parse(ok(['network', 'inspect', n.name]))[0] as {
      Driver: string;
      Options: Record<string, string>;
      IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
    };
    expect(info.Driver).toBe('macvlan');
    expect(info.Options).toEqual({ parent: p });
    expect(info.IPAM.Config).toEqual([{ Subnet: n.subnet, Gateway: n.gateway }]);
    const a = uniq('a');
    const b = uniq('b');
    run(a, ['--network', n.name]);
    run(b, ['--network', n.name, '--ip', n.ip(77)]);
    expect(ipOn(a, n.name)).toBe(n.ip(2));
    expect(ipOn(b, n.name)).toBe(n.ip(77));
    expect(linkDetails(a, 'eth0')).toMatch(/macvlan mode bridge/);
    expect(pings(a, n.ip(77))).toBe(true);
    expect(pings(b, n.ip(2))).toBe(true);
    // The default route goes to the given gateway (a router on the parent's segment).
    expect(defaultRoute(a)).toBe(`default via ${n.gateway} dev eth0`);
    // Refusals, in dockerd's words.
    expect(fails(['network', 'create', '-d', 'macvlan', '-o', `parent=${p}`, uniq('x')])).toMatch(
      new RegExp(`network dm-${n.id.slice(0, 12)} is already using parent interface ${p}`),
    );
    expect(
      fails(['network', 'create', '-d', 'macvlan', '-o', 'parent=wtnosuch0', uniq('x')]),
    ).toMatch(/invalid subinterface vlan name wtnosuch0, example formatting is eth0.10/);
    expect(
      fails(['network', 'create', '-d', 'macvlan', '-o', 'macvlan_mode=nope', uniq('x')]),
    ).toMatch(/requested macvlan mode 'nope' is not valid, 'bridge' mode is the macvlan driver/);
    expect(fails(['network', 'create', '-d', 'ipvlan', uniq('x')])).toMatch(/no ipvlan support/);
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
    // The user's parent stays.
    expect(linkExists(p)).toBe(true);
  });

  it('applies macvlan_mode: private children cannot talk', () => {
    const p = parent();
    // Made with the wharf CLI, without --gateway: dockerd's IPAM then shows only the subnet.
    const s = uniqueSubnet();
    const n = { name: uniq('mv') };
    const w = d.wharf([
      'network',
      'create',
      '-d',
      'macvlan',
      '--subnet',
      s.subnet,
      '-o',
      `parent=${p}`,
      '-o',
      'macvlan_mode=private',
      n.name,
    ]);
    expect(w.code, w.stderr).toBe(0);
    expect(
      JSON.parse(ok(['network', 'inspect', '-f', '{{json .IPAM.Config}}', n.name])) as unknown,
    ).toEqual([{ Subnet: s.subnet }]);
    const a = uniq('a');
    const b = uniq('b');
    run(a, ['--network', n.name]);
    run(b, ['--network', n.name]);
    expect(linkDetails(a, 'eth0')).toMatch(/macvlan mode private/);
    expect(pings(a, ipOn(b, n.name))).toBe(false);
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
  });

  it('--internal (and no parent): Wharf makes the parent; no way out; removed with the network', () => {
    const n = macvlan(['--internal']);
    const own = `dm-${n.id.slice(0, 12)}`;
    expect(linkExists(own)).toBe(true);
    const a = uniq('a');
    const b = uniq('b');
    run(a, ['--network', n.name]);
    run(b, ['--network', n.name]);
    expect(pings(a, ipOn(b, n.name))).toBe(true);
    expect(defaultRoute(a)).toBe('');
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
    expect(linkExists(own)).toBe(false);
  });

  it('live connect and disconnect of a default-bridge container', () => {
    const n = macvlan([]);
    const a = uniq('a');
    const b = uniq('b');
    run(a, ['--network', n.name]);
    run(b, []);
    ok(['network', 'connect', n.name, b]);
    expect(linkDetails(b, 'eth1')).toMatch(/macvlan/);
    expect(pings(b, ipOn(a, n.name))).toBe(true);
    // The default bridge keeps the default route.
    expect(defaultRoute(b)).toMatch(/dev eth0/);
    ok(['network', 'disconnect', n.name, b]);
    expect(d.cli(['exec', b, 'ip', 'link', 'show', 'eth1']).code).not.toBe(0);
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
  });

  it('embedded DNS on 127.0.0.11 in the namespace: names, aliases, scoping, after a crash', async () => {
    const n1 = macvlan(['--internal']);
    const n2 = macvlan(['--internal']);
    const a = uniq('a');
    const b = uniq('b');
    const c = uniq('c');
    run(a, ['--network', n1.name]);
    run(b, ['--network', n1.name, '--network-alias', 'bee']);
    run(c, ['--network', n2.name]);
    expect(ok(['exec', a, 'cat', '/etc/resolv.conf'])).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(lookup(a, b)).toEqual([ipOn(b, n1.name)]);
    expect(lookup(a, 'bee')).toEqual([ipOn(b, n1.name)]);
    // Names on another network do not resolve (and an internal network forwards nothing).
    expect(lookup(a, c)).toBeUndefined();
    expect(lookup(c, a)).toBeUndefined();
    await d.crash();
    await d.restart();
    expect(lookup(a, 'bee')).toEqual([ipOn(b, n1.name)]);
    ok(['rm', '-f', a, b, c]);
    ok(['network', 'rm', n1.name, n2.name]);
  });

  it('keeps the network and its endpoints across a daemon crash', async () => {
    const p = parent();
    const n = macvlan(['-o', `parent=${p}`]);
    const a = uniq('a');
    run(a, ['--network', n.name]);
    await d.crash();
    await d.restart();
    const b = uniq('b');
    run(b, ['--network', n.name]);
    expect(ipOn(b, n.name)).toBe(n.ip(3));
    expect(pings(b, n.ip(2))).toBe(true);
    ok(['rm', '-f', a, b]);
    ok(['network', 'rm', n.name]);
  });
});
