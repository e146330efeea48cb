/**
 * `--network container:<name|id>`: a container in another container's network namespace,
 * through the docker CLI and dockerode. The target listens on 127.0.0.1 only, so reaching it
 * from the joiner proves the namespace is shared; dockerd's conflict errors at create, its
 * error at start when the target is not running, inspect as dockerd shows it, and the joiner
 * across a daemon crash. Only 127.0.0.1 inside the test's own namespaces is contacted.
 */

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
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

/** A target on the default bridge serving "hello" on 127.0.0.1:8080 only. */
function target(): { name: string; id: string } {
  const name = uniq('tgt');
  const id = ok([
    'run',
    '-d',
    '--name',
    name,
    'busybox',
    'sh',
    '-c',
    'mkdir -p /w && echo hello > /w/index.html && exec httpd -f -p 127.0.0.1:8080 -h /w',
  ]);
  return { name, id };
}

const fetchFrom = (netMode: string): string =>
  ok(['run', '--rm', '--network', netMode, 'busybox', 'wget', '-qO-', 'http://127.0.0.1:8080/']);

describe('--network container:<x>', () => {
  it('refuses what would configure the shared namespace, in dockerd words', async () => {
    const t = target();
    const mode = `container:${t.name}`;
    const cases: Array<[string[], RegExp]> = [
      [['-p', '8080:80'], /conflicting options: port publishing and the container type network/],
      [['-P'], /conflicting options: port publishing and the container type network mode/],
      [['--expose', '80'], /conflicting options: port exposing and the container type network/],
      [['--dns', '192.0.2.1'], /conflicting options: dns and the network mode/],
      [['--add-host', 'a:192.0.2.1'], /conflicting options: custom host-to-IP mapping/],
      [['-h', 'foo'], /conflicting options: hostname and the network mode/],
      [['--mac-address', '02:42:ac:11:00:02'], /conflicting options: mac-address and the network/],
      [['--link', `${t.name}:x`], /container type network can't be used with links/],
      // The docker CLI refuses this one itself.
      [['--network-alias', 'al'], /only supported for user-defined networks/],
    ];
    for (const [extra, re] of cases) {
      expect(fails(['create', '--network', mode, ...extra, 'busybox', 'true'])).toMatch(re);
    }
    // As dockerd, --dns-search / --dns-option are accepted (the resolv.conf is the target's).
    ok(['create', '--network', mode, '--dns-search', 'example.test', 'busybox', 'true']);
    expect(fails(['create', '--network', 'container:', 'busybox', 'true'])).toMatch(
      /Invalid network mode: invalid container format container:<name\|id>/,
    );
    // Through the API: an alias on the shared namespace is refused with a 400.
    const err = await docker
      .createContainer({
        Image: 'busybox',
        Cmd: ['true'],
        HostConfig: { NetworkMode: mode },
        NetworkingConfig: { EndpointsConfig: { [mode]: { Aliases: ['x'] } } },
      })
      .then(
        () => undefined,
        (e: { statusCode?: number; message: string }) => e,
      );
    expect(err?.statusCode).toBe(400);
    expect(err?.message).toMatch(/network-scoped alias is supported only for containers in user/);
    ok(['rm', '-f', t.name]);
  });

  it('shares interfaces, addresses, localhost, hostname and etc files with the target', () => {
    const t = target();
    const mode = `container:${t.name}`;
    expect(fetchFrom(mode)).toBe('hello');
    const w = d.wharf([
      'run',
      '--rm',
      '--network',
      mode,
      'busybox',
      'wget',
      '-qO-',
      '127.0.0.1:8080',
    ]);
    expect(w.stderr).toBe('');
    expect(w.stdout.trim()).toBe('hello');
    // The target's eth0 (its default-bridge address and MAC), seen from the joiner.
    const show =
      'ip -o -4 addr show eth0 | tr -s " " | cut -d" " -f4; cat /sys/class/net/eth0/address';
    const own = ok(['exec', t.name, 'sh', '-c', show]);
    expect(own).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+\n[0-9a-f:]{17}$/);
    expect(ok(['run', '--rm', '--network', mode, 'busybox', 'sh', '-c', show])).toBe(own);
    // Hostname, /etc/hosts and /etc/resolv.conf are the target's, as dockerd.
    const files = 'hostname; echo "$HOSTNAME"; cat /etc/hostname /etc/hosts /etc/resolv.conf';
    const mine = ok(['exec', t.name, 'sh', '-c', files]);
    expect(mine.split('\n')[0]).toBe(t.id.slice(0, 12));
    expect(ok(['run', '--rm', '--network', mode, 'busybox', 'sh', '-c', files])).toBe(mine);
    ok(['rm', '-f', t.name]);
  });

  it('inspect: NetworkMode by ID, no networks of its own; ps shows no networks', () => {
    const t = target();
    const j = uniq('joiner');
    ok(['run', '-d', '--name', j, '--network', `container:${t.name}`, 'busybox', 'sleep', '300']);
    const info = JSON.parse(ok(['inspect', j]))[0] as {
      HostConfig: { NetworkMode: string };
      NetworkSettings: { Networks: object; IPAddress: string; SandboxKey: string };
      Config: { Hostname: string };
      HostsPath: string;
    };
    expect(info.HostConfig.NetworkMode).toBe(`container:${t.id}`);
    expect(info.NetworkSettings.Networks).toEqual({});
    expect(info.NetworkSettings.IPAddress).toBe('');
    expect(info.Config.Hostname).toBe(t.id.slice(0, 12));
    expect(info.HostsPath).toBe(ok(['inspect', '-f', '{{.HostsPath}}', t.name]));
    expect(ok(['ps', '--filter', `name=${j}`, '--format', '{{.Networks}}|{{.Ports}}'])).toBe('|');
    ok(['rm', '-f', j, t.name]);
  });

  it('a target that is not running: dockerd error at start; it starts once the target runs', () => {
    const t = target();
    const j = uniq('joiner');
    // Created by name while the target does not exist yet: looked up at start.
    const later = uniq('later');
    ok(['create', '--name', j, '--network', `container:${later}`, 'busybox', 'sleep', '300']);
    expect(fails(['start', j])).toMatch(new RegExp(`No such container: ${later}`));
    ok(['rm', j]);
    ok(['create', '--name', j, '--network', `container:${t.name}`, 'busybox', 'sleep', '300']);
    ok(['stop', '-t', '0', t.name]);
    expect(fails(['start', j])).toMatch(
      new RegExp(`cannot join network of a non running container: ${t.id}`),
    );
    expect(ok(['inspect', '-f', '{{.State.Status}}', j])).toBe('created');
    ok(['start', t.name]);
    ok(['start', j]);
    expect(ok(['exec', j, 'wget', '-qO-', 'http://127.0.0.1:8080/'])).toBe('hello');
    // Removing the target does not take the joiner down (as dockerd).
    ok(['rm', '-f', t.name]);
    expect(ok(['inspect', '-f', '{{.State.Running}}', j])).toBe('true');
    ok(['rm', '-f', j]);
  });

  it('dockerode: create with the target ID, start, read the output', async () => {
    const t = target();
    const c = await docker.createContainer({
      Image: 'busybox',
      Cmd: ['wget', '-qO-', 'http://127.0.0.1:8080/'],
      HostConfig: { NetworkMode: `container:${t.id}` },
    });
    await c.start();
    expect((await c.wait()).StatusCode).toBe(0);
    const logs = (await c.logs({ stdout: true })).toString('utf8');
    expect(logs).toContain('hello');
    await c.remove({ force: true });
    ok(['rm', '-f', t.name]);
  });

  it('survives a daemon crash and restart', async () => {
    const t = target();
    const j = uniq('joiner');
    ok(['run', '-d', '--name', j, '--network', `container:${t.name}`, 'busybox', 'sleep', '300']);
    await d.crash();
    await d.restart();
    expect(ok(['inspect', '-f', '{{.State.Running}} {{.HostConfig.NetworkMode}}', j])).toBe(
      `true container:${t.id}`,
    );
    await eventually(
      () => d.cli(['exec', j, 'wget', '-qO-', 'http://127.0.0.1:8080/']).stdout.trim() === 'hello',
      10_000,
      'target reachable after restart',
    );
    ok(['stop', '-t', '1', j]);
    ok(['start', j]);
    expect(ok(['exec', j, 'wget', '-qO-', 'http://127.0.0.1:8080/'])).toBe('hello');
    ok(['rm', '-f', j, t.name]);
  });
});
