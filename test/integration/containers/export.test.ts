/**
 * `export`: a container's filesystem as a tar, through the docker CLI, dockerode and wharf,
 * for running and stopped containers; it round-trips through `import`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DOCKER_CLI, eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';

let d: DaemonHandle;
let dir: string;
beforeAll(async () => {
  d = await startDaemon();
  dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-export-'));
});
afterAll(async () => {
  await d?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function ok(r: { code: number; stdout: string; stderr: string }): string {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Names in a tar file (GNU tar's listing). */
function listing(file: string): string[] {
  const r = spawnSync('tar', ['-tf', file]);
  expect(r.status).toBe(0);
  return r.stdout.toString().split('\n').filter(Boolean);
}

function viewMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`${d.execRoot}/`) && l.includes('.export-'));
}

describe('container export', () => {
  it('exports a stopped container with its changes, and the tar imports and runs', () => {
    const id = ok(
      d.cli(['run', '-d', 'busybox', 'sh', '-c', 'echo hello > /greeting && rm /etc/group']),
    ).trim();
    expect(ok(d.cli(['wait', id])).trim()).toBe('0');
    const out = path.join(dir, 'stopped.tar');
    ok(d.cli(['export', '-o', out, id]));
    const names = listing(out);
    expect(names).toContain('greeting');
    expect(names).toContain('bin/busybox');
    expect(names).toContain('etc/passwd');
    expect(names).not.toContain('etc/group'); // deleted in the container (a whiteout)
    expect(names.some((n) => n.includes('.wh.'))).toBe(false);
    expect(viewMounts()).toEqual([]); // the read-only view is gone with the stream

    // Round trip: the exported filesystem is an image that runs.
    ok(d.cli(['import', out, 'exported:1']));
    expect(ok(d.cli(['run', '--rm', 'exported:1', 'cat', '/greeting']))).toBe('hello\n');
    d.cli(['rm', id]);
    d.cli(['rmi', 'exported:1']);
  });

  it('exports a host-rooted created container from the rootfs mounted at create, with no view', async () => {
    // A volume filled from the image: the root is mounted on the host at create.
    const id = ok(d.cli(['create', '-v', '/etc', 'busybox', 'true'])).trim();
    const rootfs = `${d.execRoot}/containers/${id}/rootfs`;
    const mountsOf = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[4] === rootfs).length;
    await eventually(() => mountsOf() === 1, 10_000, 'the mount at create');
    const out = path.join(dir, 'created.tar');
    const child = spawn(DOCKER_CLI, ['export', '-o', out, id], {
      env: { ...process.env, DOCKER_HOST: `unix://${d.socket}` },
    });
    // While it streams, no read-only view is stacked on the container's upper directory.
    let sawView = false;
    const done = new Promise<number | null>((resolve) => child.once('exit', resolve));
    while (child.exitCode === null) {
      if (viewMounts().length > 0) sawView = true;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await done).toBe(0);
    expect(sawView).toBe(false);
    expect(listing(out)).toContain('bin/busybox');
    ok(d.cli(['rm', '-v', id]));
  });

  it('exports a created container whose root runc mounts through a view, and leaves none', async () => {
    const id = ok(d.cli(['create', 'busybox', 'true'])).trim();
    const out = path.join(dir, 'created-ns.tar');
    ok(d.cli(['export', '-o', out, id]));
    expect(listing(out)).toContain('bin/busybox');
    await eventually(() => viewMounts().length === 0, 10_000, 'the view to go');
    ok(d.cli(['rm', id]));
  });

  it('exports a running container to stdout (docker, wharf and dockerode agree)', async () => {
    const id = ok(
      d.cli(['run', '-d', 'busybox', 'sh', '-c', 'mkdir -p /data && echo x > /data/f; sleep 600']),
    ).trim();
    await new Promise((r) => setTimeout(r, 300));
    // Binary stdout: the harness's cli() decodes text, so run the docker CLI directly here.
    const viaDocker = spawnSync(DOCKER_CLI, ['export', id], {
      env: { ...process.env, DOCKER_HOST: `unix://${d.socket}` },
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(viaDocker.status).toBe(0);
    const file = path.join(dir, 'running.tar');
    ok(d.wharf(['container', 'export', '--output', file, id]));
    const names = listing(file);
    expect(names).toContain('data/f');
    const fromStdout = path.join(dir, 'stdout.tar');
    writeFileSync(fromStdout, viaDocker.stdout);
    expect(listing(fromStdout)).toContain('data/f');

    const stream = await d.docker.getContainer(id).export();
    const chunks: Buffer[] = [];
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    expect(Buffer.concat(chunks).length).toBeGreaterThan(512 * 1024); // busybox is in it
    d.cli(['rm', '-f', id]);
  });

  it('refuses a terminal and a missing container as docker does', () => {
    const missing = d.cli(['export', 'no-such-ctr-x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No such container: no-such-ctr-x/);
    const w = d.wharf(['export', 'no-such-ctr-x']);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/No such container: no-such-ctr-x/);
  });
});
