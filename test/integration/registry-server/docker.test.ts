/**
 * Interop of `wharf registry serve` with a real Docker engine (Debian's docker.io, started
 * privately by test/harness/dockerd.ts: no bridge, no firewall rules, its own roots): Docker
 * pushes an image to the Wharf registry and pulls it back into an empty store; wharfd pulls
 * what Docker pushed, and Docker pulls what wharfd pushed; both run it. Skipped, with the
 * reason printed, where Docker is not installed; CI installs docker.io.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { busyboxRootfsTar, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { dockerdMissingReason, startDockerd, type DockerdHandle } from '../../harness/dockerd.js';
import { rmrf, startRegistry, uniqueRepo, type RegistryHandle } from './helpers.js';

const skip = dockerdMissingReason();
if (skip) console.warn(`registry docker interop: skipped: ${skip}`);

function ok(r: { code: number; stdout: string; stderr: string }): string {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

let reg: RegistryHandle;
let dk: DockerdHandle;
let d: DaemonHandle;

describe.skipIf(skip !== undefined)('wharf registry with real Docker as the client', () => {
  beforeAll(async () => {
    reg = await startRegistry();
    dk = await startDockerd();
    d = await startDaemon();
    ok(dk.cli(['import', '-c', 'CMD ["sh"]', busyboxRootfsTar(), 'busybox:latest']));
  });
  afterAll(async () => {
    try {
      await dk?.stop();
      await d?.stop();
    } finally {
      await reg?.stop();
      if (reg) rmrf(reg.root);
    }
  });

  it('docker pushes (127.0.0.1 is insecure by default), pulls back into an empty store and runs', () => {
    const repo = `${reg.host}/${uniqueRepo('docker')}`;
    const ref = `${repo}:v1`;
    ok(
      dk.cli([
        'run',
        '--network',
        'none',
        '--name',
        'mk',
        'busybox',
        'sh',
        '-c',
        'echo from-docker > /m',
      ]),
    );
    ok(dk.cli(['commit', '-c', 'CMD ["cat", "/m"]', 'mk', ref]));
    const id = ok(dk.cli(['image', 'inspect', '-f', '{{.Id}}', ref])).trim();
    const push = ok(dk.cli(['push', ref]));
    expect(push).toMatch(/v1: digest: sha256:[0-9a-f]{64} size: \d+/);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)![1]!;
    // A second push finds every blob there.
    expect(ok(dk.cli(['push', ref]))).toMatch(/Layer already exists/);

    ok(dk.cli(['rm', 'mk']));
    ok(dk.cli(['rmi', ref]));
    ok(dk.cli(['pull', ref]));
    expect(ok(dk.cli(['image', 'inspect', '-f', '{{.Id}}', ref])).trim()).toBe(id);
    expect(ok(dk.cli(['run', '--rm', '--network', 'none', ref]))).toBe('from-docker\n');
    ok(dk.cli(['rmi', ref]));
    ok(dk.cli(['pull', `${repo}@${digest}`]));

    // wharfd pulls what Docker pushed: same image ID, runs.
    ok(d.cli(['pull', ref]));
    expect(ok(d.cli(['image', 'inspect', '-f', '{{.Id}}', ref])).trim()).toBe(id);
    expect(ok(d.cli(['run', '--rm', ref]))).toBe('from-docker\n');
  });

  it('docker pulls and runs what wharfd pushed', () => {
    const ref = `${reg.host}/${uniqueRepo('wharf')}:v2`;
    ok(d.cli(['run', '--name', 'wk', 'busybox', 'sh', '-c', 'echo from-wharf > /w']));
    ok(d.cli(['commit', '-c', 'CMD ["cat", "/w"]', 'wk', ref]));
    ok(d.cli(['rm', 'wk']));
    const id = ok(d.cli(['image', 'inspect', '-f', '{{.Id}}', ref])).trim();
    ok(d.cli(['push', ref]));
    ok(dk.cli(['pull', ref]));
    expect(ok(dk.cli(['image', 'inspect', '-f', '{{.Id}}', ref])).trim()).toBe(id);
    expect(ok(dk.cli(['run', '--rm', '--network', 'none', ref]))).toBe('from-wharf\n');
  });
});
