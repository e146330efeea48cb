/**
 * Ports published on explicit IPv6 host addresses (`-p [::1]:P:80`, `-p [::]:P:80`, the
 * docker CLI's syntax): PortBindings, NetworkSettings.Ports, `docker port`, ps as dockerd
 * 20.10 shows them; traffic from [::1] relayed by the daemon to the container's v6 address
 * (default bridge with `fixed-cidr-v6`) or to its v4 address (a v4-only network); conflicts,
 * release at stop, re-held after a daemon crash. Traffic goes to [::1] only.
 */
import { spawnSync } from 'node:child_process';

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  eventually,
  startDaemon,
  uniqueSubnet,
  uniqueSubnet6,
  type DaemonHandle,
} from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';
import {
  bindable,
  cliFails,
  cliOk,
  dockerode,
  freePort,
  httpGet,
  stopClean,
  udpReaches,
} from './helpers.js';

const v6 = uniqueSubnet6();
let d: DaemonHandle;
let docker: Docker;
beforeAll(async () => {
  d = await startDaemon({ daemonJson: { ipv6: true, 'fixed-cidr-v6': v6.subnet } });
  docker = dockerode(d);
});
afterAll(async () => {
  await stopClean(d, docker);
});

const ok = (args: string[]): string => cliOk(d, args);
const fails = (args: string[]): string => cliFails(d, args);

/**
 * A web server container: index.html says `text`, /cgi-bin/peer prints the address the
 * request came from (REMOTE_ADDR), so a test sees whether it arrived over v6 or v4.
 */
function web(name: string, text: string, args: string[]): string {
  const script = [
    'mkdir -p /www/cgi-bin',
    `echo ${text} > /www/index.html`,
    `printf '#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\necho "$REMOTE_ADDR"\\n' > /www/cgi-bin/peer`,
    'chmod +x /www/cgi-bin/peer',
    'exec httpd -f -p 80 -h /www',
  ].join(' && ');
  return ok(['run', '-d', '--name', name, ...args, 'busybox', 'sh', '-c', script]);
}

const ports = (c: string): unknown =>
  JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', c]));

describe('publishing on IPv6 host addresses', () => {
  it('-p [::1]:P:80 and -p [::]:Q:80: inspect, port and ps as dockerd; traffic to the v6 address', async () => {
    const p = await freePort();
    const q = await freePort();
    const c = uniq('web6');
    web(c, 'hello-six', ['-p', `[::1]:${p}:80`, '-p', `[::]:${q}:80`]);
    const bindings = JSON.parse(
      ok(['inspect', '-f', '{{json .HostConfig.PortBindings}}', c]),
    ) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
    expect(bindings['80/tcp']).toEqual([
      { HostIp: '::1', HostPort: String(p) },
      { HostIp: '::', HostPort: String(q) },
    ]);
    expect((ports(c) as Record<string, unknown[]>)['80/tcp']).toEqual(
      expect.arrayContaining([
        { HostIp: '::1', HostPort: String(p) },
        { HostIp: '::', HostPort: String(q) },
      ]),
    );
    expect(ok(['port', c]).split('\n').sort()).toEqual(
      [`80/tcp -> [::1]:${p}`, `80/tcp -> [::]:${q}`].sort(),
    );
    const ps = ok(['ps', '--filter', `name=${c}`, '--format', '{{.Ports}}']);
    expect(ps).toContain(`[::1]:${p}->80/tcp`);
    expect(ps).toContain(`[::]:${q}->80/tcp`);
    // The wharf CLI shows them the same way.
    expect(d.wharf(['port', c, '80']).stdout).toContain(`[::1]:${p}`);

    // Traffic from [::1] reaches the container, on its v6 address (the relay's source is the
    // bridge's v6 address).
    expect(await eventually(() => httpGet('::1', p), 10_000, 'GET [::1]:p')).toBe('hello-six\n');
    expect(await httpGet('::1', q)).toBe('hello-six\n');
    expect((await httpGet('::1', p, '/cgi-bin/peer'))?.trim()).toBe(`[${v6.gateway}]`);
    // A port published on every address: its [::] half also goes to the v6 address.
    const r = await freePort();
    const all = uniq('all');
    web(all, 'every', ['-p', `${r}:80`]);
    expect(await eventually(() => httpGet('::1', r), 10_000, 'GET [::1]:r')).toBe('every\n');
    expect((await httpGet('::1', r, '/cgi-bin/peer'))?.trim()).toBe(`[${v6.gateway}]`);
    ok(['rm', '-f', all]);
    // Only v6: the v4 side of these ports is not taken.
    expect(await bindable('127.0.0.1', p)).toBe(true);
    expect(await bindable('127.0.0.1', q)).toBe(true);
    // No v4 DNAT rule for them.
    const nat = spawnSync('iptables', [
      '-t',
      'nat',
      '-S',
      `${d.chainPrefix}-DNAT`,
    ]).stdout.toString();
    expect(nat).not.toContain(`--dport ${p} `);

    // Conflicts, as dockerd words them.
    expect(fails(['run', '-d', '-p', `[::1]:${p}:80`, 'busybox', 'sleep', '300'])).toContain(
      `Bind for ::1:${p} failed: port is already allocated`,
    );
    expect(fails(['run', '-d', '-p', `${q}:80`, 'busybox', 'sleep', '300'])).toMatch(
      /port is already allocated/,
    );

    // Stopped: the ports are free, nothing answers.
    ok(['stop', '-t', '0', c]);
    expect(await bindable('::1', p)).toBe(true);
    expect(await bindable('::', q)).toBe(true);
    expect(await httpGet('::1', p)).toBeUndefined();
    ok(['rm', '-f', c]);
    // The failed runs left created containers behind (as docker run does).
    const left = ok(['ps', '-aq', '--filter', 'status=created']);
    if (left) ok(['rm', '-f', ...left.split('\n')]);
  });

  it('a container without v6 is reached on its v4 address; UDP on [::]', async () => {
    const s = uniqueSubnet();
    const n = uniq('v4only');
    ok(['network', 'create', '--subnet', s.subnet, n]);
    const p = await freePort();
    const c = uniq('web4');
    web(c, 'hello-four', ['--network', n, '-p', `[::1]:${p}:80`]);
    expect(await eventually(() => httpGet('::1', p), 10_000, 'GET [::1]:p')).toBe('hello-four\n');
    // httpd listens on a dual-stack socket: a v4 peer shows as v4-mapped.
    expect((await httpGet('::1', p, '/cgi-bin/peer'))?.trim()).toBe(`[::ffff:${s.gateway}]`);
    ok(['rm', '-f', c]);
    ok(['network', 'rm', n]);

    const u = await freePort();
    const cu = uniq('udp6');
    // busybox has no UDP server: the host's socat, from the host's root mounted read-only.
    ok([
      'run',
      '-d',
      '--name',
      cu,
      '-p',
      `[::]:${u}:5000/udp`,
      '-v',
      '/:/host:ro',
      'busybox',
      'chroot',
      '/host',
      'socat',
      '-u',
      'UDP6-RECV:5000',
      'STDOUT',
    ]);
    expect(ok(['port', cu])).toBe(`5000/udp -> [::]:${u}`);
    await udpReaches(d, cu, '::1', u, 'ping-udp6');
    ok(['rm', '-f', cu]);
  });

  it('holds and relays the v6 ports again after a daemon crash', async () => {
    const p = await freePort();
    const c = uniq('crash6');
    web(c, 'still-six', ['-p', `[::1]:${p}:80`]);
    expect(await eventually(() => httpGet('::1', p), 10_000, 'GET [::1]:p')).toBe('still-six\n');
    await d.crash();
    await d.restart();
    expect(await eventually(() => httpGet('::1', p), 10_000, 'GET [::1]:p after the restart')).toBe(
      'still-six\n',
    );
    expect(fails(['run', '-d', '-p', `[::1]:${p}:80`, 'busybox', 'sleep', '300'])).toContain(
      `Bind for ::1:${p} failed: port is already allocated`,
    );
    ok(['rm', '-f', c]);
    expect(await bindable('::1', p)).toBe(true);
    const left = ok(['ps', '-aq', '--filter', 'status=created']);
    if (left) ok(['rm', '-f', ...left.split('\n')]);
  });

  it('dockerode: a random host port on ::1; a bracketed HostIp is a 400 at create', async () => {
    const c = await docker.createContainer({
      Image: 'busybox',
      Cmd: [
        'sh',
        '-c',
        'mkdir /w && echo dockerode-six > /w/index.html && exec httpd -f -p 80 -h /w',
      ],
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '::1', HostPort: '' }] } },
    });
    await c.start();
    const info = (await c.inspect()) as unknown as {
      NetworkSettings: { Ports: Record<string, Array<{ HostIp: string; HostPort: string }>> };
    };
    const [b] = info.NetworkSettings.Ports['80/tcp'] ?? [];
    expect(b?.HostIp).toBe('::1');
    expect(Number(b?.HostPort)).toBeGreaterThan(0);
    expect(await eventually(() => httpGet('::1', Number(b!.HostPort)), 10_000, 'GET')).toBe(
      'dockerode-six\n',
    );
    await c.remove({ force: true });
    const bad = await docker
      .createContainer({
        Image: 'busybox',
        HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '[::1]', HostPort: '1' }] } },
      })
      .then(
        () => ({ statusCode: 201, message: '' }),
        (e: { statusCode?: number; message: string }) => e,
      );
    expect(bad).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/invalid IP address: \[::1\]/),
    });
  });
});
