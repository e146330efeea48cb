/**
 * Published ports through the docker CLI and dockerode: -p (TCP and UDP, host IP, ranges),
 * -P, `port`, inspect and ps shapes; answers on 127.0.0.1, on a host address
 * (the gateway of a bridge this file creates) and from another container on another network,
 * all through DNAT in Wharf's chains; a taken host port is an error at start; rules go at stop
 * and after a crash.
 */
import { spawnSync } from 'node:child_process';

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, uniqueSubnet, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';
import { cliOk, dockerode, freePort, httpGet, stopClean, udpReaches } from './helpers.js';

let d: DaemonHandle;
let docker: Docker;
beforeAll(async () => {
  d = await startDaemon();
  docker = dockerode(d);
});
afterAll(async () => {
  // stopClean also removes the networks the tests made.
  await stopClean(d, docker);
});

const ok = (args: string[]): string => cliOk(d, args);

/** A web server container answering `text` on port 80. */
function web(name: string, text: string, args: string[]): string {
  return ok([
    'run',
    '-d',
    '--name',
    name,
    ...args,
    'busybox',
    'sh',
    '-c',
    `mkdir /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`,
  ]);
}

function natRules(): string {
  return spawnSync('iptables', ['-t', 'nat', '-S', `${d.chainPrefix}-DNAT`]).stdout.toString();
}

describe('published ports', () => {
  it('publishes TCP on 127.0.0.1, on a host address and to other networks; port and inspect show it', async () => {
    const s = uniqueSubnet();
    const n = uniq('pnet');
    ok(['network', 'create', '--subnet', s.subnet, n]);
    const hostPort = await freePort();
    const c = uniq('web');
    web(c, 'hello-tcp', ['-p', `${hostPort}:80`, '-p', '127.0.0.1::80', '--expose', '9999']);
    await eventually(
      async () => (await httpGet('127.0.0.1', hostPort)) === 'hello-tcp\n',
      10_000,
      'the proxy',
    );
    // A host address (the gateway of a bridge we created) goes through DNAT.
    expect(await httpGet(s.gateway, hostPort)).toBe('hello-tcp\n');
    // IPv6 addresses too (relayed by the daemon), but not for a port bound to 127.0.0.1.
    expect(await httpGet('::1', hostPort)).toBe('hello-tcp\n');
    const out = ok(['port', c]).split('\n');
    expect(out).toContain(`80/tcp -> 0.0.0.0:${hostPort}`);
    expect(out).toContain(`80/tcp -> [::]:${hostPort}`);
    const loop = out.find((l) => l.startsWith('80/tcp -> 127.0.0.1:'))!;
    const randomPort = Number(loop.split(':').pop());
    expect(randomPort).toBeGreaterThan(1024);
    expect(await httpGet('127.0.0.1', randomPort)).toBe('hello-tcp\n');
    expect(await httpGet('::1', randomPort)).toBeUndefined();
    expect(ok(['port', c, '80'])).toContain(`0.0.0.0:${hostPort}`);
    expect(d.wharf(['port', c]).stdout).toBe(d.cli(['port', c]).stdout);
    const info = await docker.getContainer(c).inspect();
    expect(info.NetworkSettings.Ports['80/tcp']).toEqual(
      expect.arrayContaining([
        { HostIp: '0.0.0.0', HostPort: String(hostPort) },
        { HostIp: '::', HostPort: String(hostPort) },
      ]),
    );
    expect(info.NetworkSettings.Ports['9999/tcp']).toBeNull();
    expect(info.HostConfig.PortBindings).toMatchObject({
      '80/tcp': [
        { HostIp: '', HostPort: String(hostPort) },
        { HostIp: '127.0.0.1', HostPort: '' },
      ],
    });
    const [summary] = await docker.listContainers({ filters: { name: [c] } });
    expect(summary!.Ports).toEqual(
      expect.arrayContaining([
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: hostPort, Type: 'tcp' },
        { PrivatePort: 9999, Type: 'tcp' },
      ]),
    );
    const psPorts = ok(['ps', '--filter', `name=${c}`, '--format', '{{.Ports}}']);
    expect(psPorts).toContain(`0.0.0.0:${hostPort}->80/tcp`);
    expect(psPorts).toContain(`[::]:${hostPort}->80/tcp`);
    // From a container on another network, to the host address of its own gateway.
    const other = uniq('client');
    ok(['run', '-d', '--name', other, '--network', n, 'busybox', 'sleep', '300']);
    // (busybox's wget crashes in these images; nc speaks the HTTP request instead.)
    const viaNc = ok([
      'exec',
      other,
      'sh',
      '-c',
      `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${s.gateway} ${hostPort}`,
    ]);
    expect(viaNc).toMatch(/hello-tcp$/);
    // A taken host port is a clear error at start.
    const r = d.cli([
      'run',
      '-d',
      '--name',
      uniq('clash'),
      '-p',
      `${hostPort}:80`,
      'busybox',
      'sleep',
      '300',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`Bind for 0\\.0\\.0\\.0:${hostPort} failed: port is already allocated`),
    );
    // Stop: the port and the rules go.
    expect(natRules()).toContain(`--dport ${hostPort}`);
    ok(['stop', '-t', '0', c]);
    expect(natRules()).not.toContain(`--dport ${hostPort}`);
    expect(await httpGet('127.0.0.1', hostPort)).toBeUndefined();
    expect(ok(['port', c])).toBe('');
    ok(['rm', '-f', c, other]);
  });

  it('publishes from a container on a user-defined network', async () => {
    const s = uniqueSubnet();
    const n = uniq('pnet');
    ok(['network', 'create', '--subnet', s.subnet, n]);
    const hostPort = await freePort();
    const c = uniq('web');
    web(c, 'user-net', ['--network', n, '-p', `127.0.0.1:${hostPort}:80`]);
    await eventually(
      async () => (await httpGet('127.0.0.1', hostPort)) === 'user-net\n',
      10_000,
      'the port',
    );
    expect(natRules()).toContain(
      `-d 127.0.0.1/32 -p tcp -m tcp --dport ${hostPort} -j DNAT --to-destination ${s.ip(2)}:80`,
    );
    ok(['rm', '-f', c]);
    expect(natRules()).not.toContain(`--dport ${hostPort}`);
  });

  it('publishes UDP, ranges and -P', async () => {
    const base = await freePort();
    const c = uniq('udp');
    // busybox has no UDP server: the host's socat, run from the host's root mounted read-only.
    ok([
      'run',
      '-d',
      '--name',
      c,
      '-p',
      `${base}:5000/udp`,
      '-v',
      '/:/host:ro',
      'busybox',
      'chroot',
      '/host',
      'socat',
      '-u',
      'UDP-RECV:5000',
      'STDOUT',
    ]);
    await udpReaches(d, c, '127.0.0.1', base, 'ping-udp');
    await udpReaches(d, c, '::1', base, 'ping-udp6');
    const r = uniq('range');
    ok([
      'run',
      '-d',
      '--name',
      r,
      '-p',
      '127.0.0.1::7000-7002',
      '-P',
      '--expose',
      '7100',
      'busybox',
      'sleep',
      '300',
    ]);
    const lines = ok(['port', r]).split('\n');
    for (const p of [7000, 7001, 7002])
      expect(lines.some((l) => l.startsWith(`${p}/tcp -> 127.0.0.1:`))).toBe(true);
    expect(lines.some((l) => l.startsWith('7100/tcp -> 0.0.0.0:'))).toBe(true);
    expect(d.cli(['run', '--rm', '-p', '70000:80', 'busybox', 'true']).code).not.toBe(0);
    ok(['rm', '-f', c, r]);
  });

  it('removes the rules of containers that died while the daemon was down', async () => {
    const hostPort = await freePort();
    const c = uniq('web');
    const id = web(c, 'crash', ['-p', `${hostPort}:80`]);
    await eventually(
      async () => (await httpGet('127.0.0.1', hostPort)) === 'crash\n',
      10_000,
      'the proxy',
    );
    await d.crash();
    // The container keeps running: after the restart its port is held and answers again.
    await d.restart();
    await eventually(
      async () => (await httpGet('127.0.0.1', hostPort)) === 'crash\n',
      10_000,
      'the re-held port',
    );
    await d.crash();
    // Killed while the daemon is down: its rules must go at the next start.
    spawnSync('runc', ['--root', `${d.execRoot}/runc`, 'kill', id, 'KILL']);
    await eventually(
      () =>
        spawnSync('runc', ['--root', `${d.execRoot}/runc`, 'state', id])
          .stdout.toString()
          .includes('stopped'),
      10_000,
    );
    expect(natRules()).toContain(`--dport ${hostPort}`);
    await d.restart();
    await eventually(
      () => !natRules().includes(`--dport ${hostPort}`),
      10_000,
      'stale rules removed',
    );
    ok(['rm', '-f', c]);
  });
});
