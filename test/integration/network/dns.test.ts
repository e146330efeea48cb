/**
 * The embedded DNS of user-defined networks, through the docker CLI: names, aliases and short
 * IDs resolve from the same network only, other names go to the container's --dns servers (a
 * fake upstream this file runs on 127.53.x.y:53, so no query ever leaves the machine), the
 * default bridge has no name resolution, /etc/resolv.conf and /etc/hosts (host.docker.internal,
 * --add-host host-gateway), live connect, and a daemon crash.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  eventually,
  ROOT,
  startDaemon,
  uniqueSubnet,
  type DaemonHandle,
} from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';

let d: DaemonHandle;
let upstream: ChildProcess;
let upstreamIp: string;
const upstreamSeen: string[] = [];
const nets: string[] = [];

/**
 * The fake upstream runs in a child process: this one blocks in spawnSync while a container
 * queries, so a server on its own event loop could not answer. It prints each question.
 */
const UPSTREAM = `
const dgram = require('node:dgram');
const dnsPacket = require(process.env.DNS_PACKET);
const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  const q = dnsPacket.decode(msg);
  const question = q.questions && q.questions[0];
  if (!question) return;
  process.stdout.write(question.type + ' ' + question.name + '\\n');
  const known = question.name.toLowerCase() === 'ext.wharf-test' && question.type === 'A';
  sock.send(dnsPacket.encode({
    type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: q.questions,
    answers: known ? [{ type: 'A', name: question.name, ttl: 60, data: '192.0.2.77' }] : [],
  }), rinfo.port, rinfo.address);
});
sock.bind(53, process.env.ADDR, () => process.stdout.write('ready\\n'));
`;

beforeAll(async () => {
  d = await startDaemon();
  upstreamIp = `127.53.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
  upstream = spawn(process.execPath, ['-e', UPSTREAM], {
    env: {
      ...process.env,
      ADDR: upstreamIp,
      DNS_PACKET: path.join(ROOT, 'node_modules/dns-packet'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  upstream.stdout!.on('data', (b: Buffer) =>
    upstreamSeen.push(...b.toString().split('\n').filter(Boolean)),
  );
  await eventually(() => upstreamSeen.includes('ready'), 10_000, 'the fake upstream');
});

afterAll(async () => {
  upstream?.kill();
  if (d?.alive) {
    const list = await d.docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(list.map((c) => d.docker.getContainer(c.Id).remove({ force: true })));
    for (const n of nets) d.cli(['network', 'rm', n]);
  }
  await d?.stop();
});

const ok = (args: string[]): string => {
  const r = d.cli(args);
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
};

function network(extra: string[] = []): {
  name: string;
  gateway: string;
  ip: (n: number) => string;
} {
  const s = uniqueSubnet();
  const name = uniq('dnsnet');
  ok(['network', 'create', '--subnet', s.subnet, ...extra, name]);
  nets.push(name);
  return { name, gateway: s.gateway, ip: s.ip };
}

/** A container that sends unknown names to the fake upstream only. */
function run(name: string, args: string[]): string {
  return ok(['run', '-d', '--name', name, '--dns', upstreamIp, ...args, 'busybox', 'sleep', '300']);
}

/** The A addresses nslookup prints for `name` from container `from` (undefined: it failed). */
function lookup(from: string, name: string, server?: string): string[] | undefined {
  const r = d.cli(['exec', from, 'nslookup', '-type=a', name, ...(server ? [server] : [])]);
  if (r.code !== 0) return undefined;
  const body = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  const ips = [...body.matchAll(/Address:\s*([0-9.]+)\s*$/gm)].map((m) => m[1]!);
  return ips.length > 0 ? ips : undefined;
}

describe('embedded DNS', () => {
  it('resolves names, aliases and short IDs on the same network only', () => {
    const n = network();
    const other = network();
    const a = uniq('a');
    const b = uniq('b');
    const c = uniq('c');
    const idA = run(a, ['--network', n.name, '--ip', n.ip(10), '--network-alias', 'db']);
    run(b, ['--network', n.name]);
    run(c, ['--network', other.name]);
    expect(lookup(b, a)).toEqual([n.ip(10)]);
    expect(lookup(b, 'db')).toEqual([n.ip(10)]);
    expect(lookup(b, 'DB')).toEqual([n.ip(10)]);
    expect(lookup(b, idA.slice(0, 12))).toEqual([n.ip(10)]);
    // Not from another network, and the other network's listener refuses strangers.
    expect(lookup(c, a)).toBeUndefined();
    expect(lookup(c, a, n.gateway)).toBeUndefined();
    // A stopped container's name goes away.
    ok(['stop', '-t', '0', a]);
    expect(lookup(b, a)).toBeUndefined();
    ok(['rm', '-f', a, b, c]);
  });

  it('still answers when something else holds port 53 on the gateway address', async () => {
    const s = uniqueSubnet();
    const dummy = `wtd${Math.random().toString(16).slice(2, 8)}`;
    // The gateway address on a device of ours (a /32: no route the network would overlap),
    // with port 53 held there by another process, before the network exists.
    // (No dummy driver in this kernel: one end of a veth pair of ours carries it.)
    spawnSync('ip', ['link', 'add', dummy, 'type', 'veth', 'peer', 'name', `${dummy}p`]);
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const d=require('node:dgram').createSocket('udp4');const t=require('node:net').createServer();
         d.bind(53, process.env.GW, () => t.listen(53, process.env.GW, () => console.log('held')));`,
      ],
      { env: { ...process.env, GW: s.gateway }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      expect(spawnSync('ip', ['addr', 'add', `${s.gateway}/32`, 'dev', dummy]).status).toBe(0);
      let out = '';
      holder.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      await eventually(() => out.includes('held'), 10_000, 'port 53 held');
      const name = uniq('dnsnet');
      ok(['network', 'create', '--subnet', s.subnet, name]);
      nets.push(name);
      const a = uniq('a');
      const b = uniq('b');
      run(a, ['--network', name]);
      run(b, ['--network', name]);
      expect(lookup(b, a)).toEqual([s.ip(2)]);
      // (The daemon's log arrives while this process waits, not during spawnSync.)
      await eventually(
        () => /port 53 is taken on the gateway address/.test(d.output()),
        5000,
        'the log line',
      );
      ok(['rm', '-f', a, b]);
    } finally {
      holder.kill();
      spawnSync('ip', ['link', 'del', dummy]);
    }
  });

  it('follows a rename', () => {
    const n = network();
    const a = uniq('a');
    const b = uniq('b');
    const renamed = uniq('renamed');
    run(a, ['--network', n.name]);
    run(b, ['--network', n.name]);
    ok(['rename', a, renamed]);
    expect(lookup(b, renamed)).toEqual([n.ip(2)]);
    expect(lookup(b, a)).toBeUndefined();
    ok(['rm', '-f', renamed, b]);
  });

  it('forwards other names to the --dns servers; resolv.conf names the resolver', async () => {
    const n = network();
    const a = uniq('a');
    run(a, ['--network', n.name, '--dns-search', 'corp.test', '--dns-option', 'ndots:2']);
    const resolv = ok(['exec', a, 'cat', '/etc/resolv.conf']);
    expect(resolv).toContain(`nameserver ${n.gateway}`);
    expect(resolv).not.toContain(upstreamIp);
    expect(resolv).toContain('search corp.test');
    expect(resolv).toContain('options ndots:2');
    expect(lookup(a, 'ext.wharf-test')).toEqual(['192.0.2.77']);
    await eventually(() => upstreamSeen.includes('A ext.wharf-test'), 5000, 'the forwarded query');
    expect(lookup(a, 'missing.wharf-test')).toBeUndefined();
    ok(['rm', '-f', a]);
  });

  it('an --internal network resolves its names but forwards nothing', async () => {
    const n = network(['--internal']);
    const a = uniq('a');
    const b = uniq('b');
    run(a, ['--network', n.name]);
    run(b, ['--network', n.name]);
    expect(lookup(b, a)).toEqual([n.ip(2)]);
    expect(lookup(b, 'internal-only.wharf-test')).toBeUndefined();
    // A later forwarded query (from elsewhere) shows up; the internal one never did.
    const x = uniq('x');
    const out = network();
    run(x, ['--network', out.name]);
    expect(lookup(x, 'ext.wharf-test')).toEqual(['192.0.2.77']);
    await eventually(() => upstreamSeen.filter((q) => q === 'A ext.wharf-test').length > 0, 5000);
    expect(upstreamSeen).not.toContain('A internal-only.wharf-test');
    ok(['rm', '-f', x]);
    ok(['rm', '-f', a, b]);
  });

  it('has no name resolution on the default bridge; host.docker.internal and host-gateway', () => {
    const n = network();
    const a = uniq('a');
    const br = uniq('br');
    run(a, [
      '--network',
      n.name,
      '--add-host',
      'gw:host-gateway',
      '--add-host',
      'static.test:192.0.2.5',
    ]);
    run(br, []);
    const hosts = ok(['exec', a, 'cat', '/etc/hosts']);
    expect(hosts).toMatch(
      new RegExp(`^${n.gateway.replace(/\./g, '\\.')}\\s+host\\.docker\\.internal$`, 'm'),
    );
    expect(hosts).toMatch(new RegExp(`^${n.gateway.replace(/\./g, '\\.')}\\s+gw$`, 'm'));
    expect(hosts).toMatch(/^192\.0\.2\.5\s+static\.test$/m);
    const bridgeGw = d.bip.split('/')[0]!;
    const brHosts = ok(['exec', br, 'cat', '/etc/hosts']);
    expect(brHosts).toMatch(
      new RegExp(`^${bridgeGw.replace(/\./g, '\\.')}\\s+host\\.docker\\.internal$`, 'm'),
    );
    // The default bridge container keeps the --dns server (no embedded resolver), and the
    // user network's resolver does not answer it.
    expect(ok(['exec', br, 'cat', '/etc/resolv.conf'])).toContain(`nameserver ${upstreamIp}`);
    expect(lookup(br, a, n.gateway)).toBeUndefined();
    ok(['rm', '-f', a, br]);
  });

  it('a live connect makes the new network names resolvable; survives a daemon crash', async () => {
    const n1 = network();
    const n2 = network();
    const a = uniq('a');
    const b = uniq('b');
    run(a, ['--network', n1.name]);
    run(b, ['--network', n2.name, '--network-alias', 'bee']);
    expect(lookup(a, 'bee')).toBeUndefined();
    ok(['network', 'connect', n2.name, a]);
    expect(lookup(a, 'bee')).toEqual([n2.ip(2)]);
    await d.crash();
    await d.restart();
    expect(lookup(a, 'bee')).toEqual([n2.ip(2)]);
    expect(lookup(b, a)).toEqual([n2.ip(3)]);
    ok(['network', 'disconnect', n2.name, a]);
    expect(lookup(b, a)).toBeUndefined();
    ok(['rm', '-f', a, b]);
  });
});
