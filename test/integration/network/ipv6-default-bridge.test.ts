/**
 * IPv6 on the default bridge (daemon.json `ipv6` + `fixed-cidr-v6`, the `--ipv6` and
 * `--fixed-cidr-v6` flags): containers get a v6 address from fixed-cidr-v6 (the MAC in the
 * low 48 bits, as dockerd), inspect and `network inspect bridge` show it as dockerd 20.10
 * does, the v6 default route, Wharf's ip6tables chain, crash and restart, connect/disconnect,
 * and dockerd's start-up refusals. The v6 prefix is a unique-local /64 per run; only
 * addresses on this file's bridge are contacted.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, startDaemon, uniqueSubnet6, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';
import { cliOk, dockerode, stopClean } from './helpers.js';

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

/** dockerd's address for a default-bridge container: the prefix and the 02:42 MAC. */
function macAddress6(ipv4: string): string {
  const [a, b, c, e] = ipv4.split('.').map(Number) as [number, number, number, number];
  const hex = (x: number, y: number): string => ((x << 8) | y).toString(16);
  return `${v6.subnet.replace(/::\/64$/, '')}:0:242:${hex(a, b)}:${hex(c, e)}`;
}

interface Settings {
  IPAddress: string;
  Gateway: string;
  MacAddress: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPv6Gateway: string;
}
const settings = (c: string): Settings & { Networks: { bridge: Settings } } =>
  JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings}}', c])) as Settings & {
    Networks: { bridge: Settings };
  };

const ip6Rules = (chain: string): string[] =>
  spawnSync('ip6tables', ['-S', chain])
    .stdout.toString()
    .split('\n')
    .filter((l) => l.startsWith('-A '));
const forward6 = (): string => spawnSync('ip6tables', ['-S', 'FORWARD']).stdout.toString();

const run = (name: string, cmd = ['sleep', '300'], args: string[] = []): string =>
  ok(['run', '-d', '--name', name, ...args, 'busybox', ...cmd]);

describe('IPv6 on the default bridge', () => {
  it('network inspect bridge shows EnableIPv6 and fixed-cidr-v6 (no v6 gateway, as dockerd)', async () => {
    const viaApi = (await docker.getNetwork('bridge').inspect()) as { EnableIPv6: boolean };
    expect(viaApi.EnableIPv6).toBe(true);
    const info = JSON.parse(ok(['network', 'inspect', 'bridge']))[0] as {
      EnableIPv6: boolean;
      IPAM: { Config: Array<Record<string, string>> };
    };
    expect(info.EnableIPv6).toBe(true);
    const v4 = d.bip.replace(/\.1\/24$/, '.0/24');
    expect(info.IPAM.Config).toEqual([
      { Subnet: v4, Gateway: d.bip.replace(/\/24$/, '') },
      { Subnet: v6.subnet },
    ]);
    // The bridge holds the gateway, the subnet's first address.
    const addrs = spawnSync('ip', ['-6', '-o', 'addr', 'show', 'dev', d.bridge]).stdout.toString();
    expect(addrs).toContain(`${v6.gateway}/64`);
  });

  it('gives containers a v6 address, route, /etc/hosts line; inspect as dockerd; v6 traffic', () => {
    const a = uniq('a');
    const b = uniq('b');
    const idA = run(a, [
      'sh',
      '-c',
      'mkdir -p /w && echo six > /w/index.html && exec httpd -f -p 8080 -h /w',
    ]);
    run(b);
    const s = settings(a);
    const want = macAddress6(s.IPAddress);
    expect(s.MacAddress).toMatch(/^02:42:/);
    for (const view of [s, s.Networks.bridge])
      expect(view).toMatchObject({
        GlobalIPv6Address: want,
        GlobalIPv6PrefixLen: 64,
        IPv6Gateway: v6.gateway,
      });
    expect(settings(b).GlobalIPv6Address).toBe(macAddress6(settings(b).IPAddress));
    const members = JSON.parse(
      ok(['network', 'inspect', '-f', '{{json .Containers}}', 'bridge']),
    ) as Record<string, { IPv6Address: string }>;
    expect(members[idA]?.IPv6Address).toBe(`${want}/64`);
    // Inside: the address and the v6 default route through the bridge.
    expect(
      ok(['exec', a, 'ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']),
    ).toContain(`${want}/64`);
    expect(ok(['exec', a, 'ip', '-6', 'route', 'show', 'default'])).toMatch(
      new RegExp(`^default via ${v6.gateway} dev eth0`),
    );
    expect(ok(['exec', a, 'cat', '/etc/hosts'])).toContain(`${want}\t${idA.slice(0, 12)}`);
    // Traffic: container to container, container to the bridge, the host to the container.
    expect(ok(['exec', b, 'wget', '-qO-', `http://[${want}]:8080/`])).toBe('six');
    ok(['exec', b, 'ping', '-6', '-c', '1', '-W', '2', v6.gateway]);
    expect(spawnSync('ping', ['-6', '-c', '1', '-W', '2', want]).status).toBe(0);
    // Wharf's v6 forward chain exists, reached once from FORWARD.
    const chain = `${d.chainPrefix}-FORWARD`;
    expect(ip6Rules(chain)).toContain(
      `-A ${chain} -o ${d.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    );
    expect(
      forward6()
        .split('\n')
        .filter((l) => l.includes(`-j ${chain}`)),
    ).toHaveLength(1);
    ok(['rm', '-f', a, b]);
  });

  it('network disconnect/connect bridge drops and restores the v6 address', () => {
    const a = uniq('a');
    run(a);
    const before = settings(a);
    expect(before.GlobalIPv6Address).toBe(macAddress6(before.IPAddress));
    ok(['network', 'disconnect', 'bridge', a]);
    expect(ok(['exec', a, 'ip', '-6', '-o', 'addr', 'show', 'scope', 'global'])).toBe('');
    ok(['network', 'connect', 'bridge', a]);
    const after = settings(a).Networks.bridge;
    expect(after.GlobalIPv6Address).toBe(macAddress6(after.IPAddress));
    expect(
      ok(['exec', a, 'ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']),
    ).toContain(`${after.GlobalIPv6Address}/64`);
    ok(['rm', '-f', a]);
  });

  it('keeps v6 addresses across a daemon crash; the chain is rebuilt without duplicates', async () => {
    const a = uniq('a');
    const b = uniq('b');
    run(a);
    run(b);
    const sa = settings(a).GlobalIPv6Address;
    const idB = ok(['inspect', '-f', '{{.Id}}', b]);
    await d.crash();
    // b dies while the daemon is down: its address is free again after the restart.
    spawnSync('runc', ['--root', path.join(d.execRoot, 'runc'), 'kill', idB, 'KILL']);
    await d.restart();
    expect(settings(a).GlobalIPv6Address).toBe(sa);
    ok(['exec', a, 'ping', '-6', '-c', '1', '-W', '2', v6.gateway]);
    const c = uniq('c');
    run(c);
    const sc = settings(c);
    expect(sc.GlobalIPv6Address).toBe(macAddress6(sc.IPAddress));
    expect(sc.GlobalIPv6Address).not.toBe(sa);
    ok(['exec', c, 'ping', '-6', '-c', '1', '-W', '2', sa]);
    const chain = `${d.chainPrefix}-FORWARD`;
    expect(
      forward6()
        .split('\n')
        .filter((l) => l.includes(`-j ${chain}`)),
    ).toHaveLength(1);
    ok(['rm', '-f', a, b, c]);
  });
});

describe('daemon start-up refusals (as dockerd 20.10)', () => {
  /** wharfd with these flags and its own roots: exit code and stderr. */
  async function startFails(flags: string[]): Promise<{ code: number | null; stderr: string }> {
    const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-v6-refusal-'));
    const execRoot = await fsp.mkdtemp('/run/wharf-v6r-');
    try {
      await fsp.writeFile(path.join(base, 'daemon.json'), '{}');
      const r = spawnSync(
        path.join(ROOT, 'bin/wharfd'),
        [
          '-H',
          `unix://${path.join(base, 's.sock')}`,
          '--data-root',
          path.join(base, 'data'),
          '--exec-root',
          execRoot,
          '--config-file',
          path.join(base, 'daemon.json'),
          '--bridge',
          `${d.name}v6x`,
          '--chain-prefix',
          `${d.chainPrefix}X`,
          ...flags,
        ],
        { timeout: 30_000 },
      );
      return { code: r.status, stderr: r.stderr.toString() };
    } finally {
      await fsp.rm(base, { recursive: true, force: true });
      await fsp.rm(execRoot, { recursive: true, force: true });
    }
  }

  it('--ipv6 without --fixed-cidr-v6, and a bad fixed-cidr-v6, stop the daemon', async () => {
    const none = await startFails(['--ipv6']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      'failed to start daemon: Error initializing network controller: IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 subnet using --fixed-cidr-v6',
    );
    const bad = await startFails(['--ipv6', '--fixed-cidr-v6', 'garbage']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'failed to start daemon: Error initializing network controller: invalid CIDR address: garbage',
    );
    // Nothing was made on the host.
    expect(spawnSync('ip', ['link', 'show', `${d.name}v6x`], { stdio: 'ignore' }).status).not.toBe(
      0,
    );
  });
});
