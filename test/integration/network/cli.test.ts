/**
 * `wharf network create/ls/inspect/rm/prune/connect/disconnect` and `wharf run --network
 * --ip --network-alias`, side by side with what the docker CLI shows on the same daemon.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, uniqueSubnet, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

const wharf = (args: string[]): string => {
  const r = d.wharf(args);
  expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
};

describe('wharf network', () => {
  it('creates, lists, inspects, connects, disconnects, removes and prunes', () => {
    const s = uniqueSubnet();
    const name = uniq('wnet');
    const id = wharf([
      'network',
      'create',
      '--subnet',
      s.subnet,
      '--gateway',
      s.gateway,
      '--label',
      'k=v',
      name,
    ]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(wharf(['network', 'ls', '--filter', `name=${name}`])).toBe(
      d.cli(['network', 'ls', '--filter', `name=${name}`]).stdout.trim(),
    );
    expect(wharf(['network', 'ls', '-q', '--filter', 'label=k=v'])).toBe(id.slice(0, 12));
    expect(
      wharf([
        'network',
        'inspect',
        '-f',
        '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}',
        name,
      ]),
    ).toBe(`${s.subnet} ${s.gateway}`);
    const c = uniq('c');
    wharf([
      'run',
      '-d',
      '--name',
      c,
      '--network',
      name,
      '--ip',
      s.ip(42),
      '--network-alias',
      'ali',
      'busybox',
      'sleep',
      '300',
    ]);
    expect(
      wharf(['inspect', '-f', `{{(index .NetworkSettings.Networks "${name}").IPAddress}}`, c]),
    ).toBe(s.ip(42));
    expect(
      wharf(['inspect', '-f', `{{(index .NetworkSettings.Networks "${name}").Aliases}}`, c]),
    ).toBe('[ali]');
    const r = d.wharf(['network', 'rm', name]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/has active endpoints/);
    const other = uniqueSubnet();
    const name2 = uniq('wnet');
    wharf(['network', 'create', '--subnet', other.subnet, name2]);
    wharf(['network', 'connect', '--ip', other.ip(9), '--alias', 'two', name2, c]);
    expect(wharf(['exec', c, 'ip', '-4', '-o', 'addr', 'show', 'eth1'])).toContain(
      `${other.ip(9)}/24`,
    );
    wharf(['network', 'disconnect', name2, c]);
    expect(d.wharf(['exec', c, 'ip', 'link', 'show', 'eth1']).code).not.toBe(0);
    wharf(['rm', '-f', c]);
    expect(wharf(['network', 'rm', name])).toBe(name);
    expect(wharf(['network', 'prune', '-f'])).toContain(name2);
    expect(wharf(['network', 'ls', '-q', '--filter', 'type=custom'])).toBe('');
    expect(d.wharf(['network', 'rm', name]).stderr).toMatch(/not found/);
    expect(d.wharf(['network', 'rm', '-f', name]).code).toBe(0);
  });
});
