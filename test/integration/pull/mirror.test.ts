/**
 * daemon.json settings: `registry-mirrors` serve docker.io pulls (no Docker Hub here: the
 * mirror is a local registry), `max-concurrent-downloads` queues layers ("Waiting"); and a
 * registry on 127.0.0.1 serving https with a self-signed certificate (127.0.0.0/8 is
 * insecure, as in dockerd: https tried first, unverified, then http).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { busyboxRootfsTar, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import {
  fileTar,
  makeOciLayout,
  skopeoCopy,
  startRegistry,
  type RegistryHandle,
} from './registry.js';

let d: DaemonHandle;
let mirror: RegistryHandle;
let tlsReg: RegistryHandle;
let work: string;

beforeAll(async () => {
  mirror = await startRegistry();
  tlsReg = await startRegistry({ tls: true });
  d = await startDaemon({
    withBusybox: false,
    daemonJson: {
      'registry-mirrors': [`http://${'127.0.0.1'}:${mirror.port}`],
      'max-concurrent-downloads': 1,
    },
  });
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-mirror-'));
});

afterAll(async () => {
  await d?.stop();
  await mirror?.stop();
  await tlsReg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

describe('daemon.json registry settings', () => {
  it('pulls docker.io images from the mirror, one layer at a time', async () => {
    const layout = path.join(work, 'm');
    await makeOciLayout(layout, 'latest', [
      {
        layers: [
          readFileSync(busyboxRootfsTar()),
          fileTar({ 'etc/motd': 'from the mirror\n' }),
          fileTar({ 'etc/x': 'x\n' }),
        ],
        compression: 'gzip',
        cmd: ['cat', '/etc/motd'],
      },
    ]);
    skopeoCopy(layout, 'latest', `${mirror.host}/library/mirrored:latest`);
    const pull = d.cli(['pull', 'mirrored']);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain('latest: Pulling from library/mirrored');
    expect(pull.stdout).toMatch(/: Waiting\n/);
    expect(pull.stdout).toContain('Status: Downloaded newer image for mirrored:latest');
    expect(pull.stdout.trim().split('\n').at(-1)).toBe('docker.io/library/mirrored:latest');
    expect(d.cli(['run', '--rm', 'mirrored']).stdout).toBe('from the mirror\n');
    const info = JSON.parse(d.cli(['info', '--format', '{{json .RegistryConfig.Mirrors}}']).stdout);
    expect(info).toEqual([`http://127.0.0.1:${mirror.port}`]);
  });

  it('refuses a malformed registry setting at start-up', async () => {
    await expect(
      startDaemon({ withBusybox: false, daemonJson: { 'registry-mirrors': ['ftp://x'] } }),
    ).rejects.toThrow(/invalid mirror/);
  });

  it('pushes to and pulls from an https registry on 127.0.0.1 (self-signed)', () => {
    expect(d.cli(['tag', 'mirrored', `${tlsReg.host}/tls/m:1`]).code).toBe(0);
    const push = d.cli(['push', `${tlsReg.host}/tls/m:1`]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(d.cli(['rmi', `${tlsReg.host}/tls/m:1`]).code).toBe(0);
    const pull = d.cli(['pull', `${tlsReg.host}/tls/m:1`]);
    expect(pull.stderr).toBe('');
    expect(pull.stdout).toContain(`Status: Downloaded newer image for ${tlsReg.host}/tls/m:1`);
  });
});
