/**
 * Interop with a real Docker engine (Debian's docker.io, started privately by
 * test/harness/dockerd.ts with no bridge, no firewall rules, its own roots): an archive saved
 * by Wharf loads into Docker and runs there, and one `docker save`d by Docker loads into Wharf
 * and runs here. Image IDs (config digests) are the same on both sides. Skipped, with the
 * reason printed, where Docker is not installed; CI installs docker.io.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { busyboxRootfsTar, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { dockerdMissingReason, startDockerd, type DockerdHandle } from '../../harness/dockerd.js';
import { ok, readArchive } from './save-load-helpers.js';

const skip = dockerdMissingReason();
if (skip) console.warn(`save-load-docker: skipped: ${skip}`);

// Must hold before and after: the private engine never touches the host's Docker.
const hostDocker = {
  sock: existsSync('/var/run/docker.sock'),
  lib: existsSync('/var/lib/docker'),
  key: existsSync('/etc/docker/key.json'),
};

let d: DaemonHandle;
let dk: DockerdHandle;
let tmp: string;

describe.skipIf(skip !== undefined)('save/load interop with real Docker', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'wharf-interop-'));
    d = await startDaemon();
    dk = await startDockerd();
  });
  afterAll(async () => {
    try {
      await dk?.stop();
    } finally {
      await d?.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    expect(existsSync('/var/run/docker.sock')).toBe(hostDocker.sock);
    expect(existsSync('/var/lib/docker')).toBe(hostDocker.lib);
    expect(existsSync('/etc/docker/key.json')).toBe(hostDocker.key);
    if (dk) {
      expect(existsSync(dk.base)).toBe(false);
      expect(existsSync(dk.execRoot)).toBe(false);
    }
  });

  const id = (cli: (a: string[]) => { code: number; stdout: string; stderr: string }, r: string) =>
    ok(cli(['image', 'inspect', '-f', '{{.Id}}', r])).trim();

  it('Wharf saves, Docker loads and runs: tags, two images sharing a layer', () => {
    ok(d.cli(['run', '--name', 'w-mk', 'busybox', 'sh', '-c', 'echo made-by-wharf > /m']));
    ok(d.cli(['commit', '-c', 'CMD ["cat", "/m"]', 'w-mk', 'fromwharf:v1']));
    ok(d.cli(['rm', 'w-mk']));
    const file = path.join(tmp, 'wharf.tar');
    ok(d.cli(['save', '-o', file, 'fromwharf:v1', 'busybox']));

    const out = ok(dk.cli(['load', '-i', file]));
    expect(out).toContain('Loaded image: fromwharf:v1');
    expect(out).toContain('Loaded image: busybox:latest');
    expect(id(dk.cli, 'fromwharf:v1')).toBe(id(d.cli, 'fromwharf:v1'));
    expect(id(dk.cli, 'busybox')).toBe(id(d.cli, 'busybox'));
    expect(ok(dk.cli(['run', '--rm', '--network', 'none', 'fromwharf:v1']))).toBe(
      'made-by-wharf\n',
    );
    expect(ok(dk.cli(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'hi']))).toBe('hi\n');
  });

  it('images with gzip and zstd layers (from skopeo OCI archives) go from Wharf to Docker', async () => {
    for (const compression of ['gzip', 'zstd']) {
      const ref = `compressed-${compression}:v1`;
      const plain = path.join(tmp, `plain-${compression}.tar`);
      const oci = path.join(tmp, `oci-${compression}.tar`);
      ok(d.cli(['save', '-o', plain, 'fromwharf:v1']));
      const r = spawnSync('skopeo', [
        'copy',
        '--dest-compress-format',
        compression,
        '--dest-compress',
        `docker-archive:${plain}`,
        `oci-archive:${oci}:${ref}`,
      ]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(ok(d.cli(['load', '-i', oci]))).toBe(`Loaded image: ${ref}\n`);
      const out = path.join(tmp, `to-docker-${compression}.tar`);
      ok(d.cli(['save', '-o', out, ref]));
      // gzip layers go out as stored; zstd ones decompressed (Docker 20.10 cannot read zstd).
      const files = await readArchive(readFileSync(out));
      const [entry] = JSON.parse(files.get('manifest.json')!.toString());
      const gzipped = entry.Layers.map((l: string) => files.get(l)![0] === 0x1f);
      expect(gzipped).toEqual(entry.Layers.map(() => compression === 'gzip'));
      expect(ok(dk.cli(['load', '-i', out]))).toContain(`Loaded image: ${ref}`);
      expect(id(dk.cli, ref)).toBe(id(d.cli, ref));
      expect(ok(dk.cli(['run', '--rm', '--network', 'none', ref]))).toBe('made-by-wharf\n');
    }
  });

  it('Docker saves (its own busybox import + a commit), Wharf loads and runs', () => {
    // An image made by Docker itself: imported from the same rootfs, then a committed layer.
    ok(dk.cli(['import', '-c', 'CMD ["sh"]', busyboxRootfsTar(), 'dockerbox:base']));
    ok(
      dk.cli([
        'run',
        '--name',
        'd-mk',
        '--network',
        'none',
        'dockerbox:base',
        'sh',
        '-c',
        'echo made-by-docker > /m && mkdir -p /data && echo x > /data/f && rm /etc/group',
      ]),
    );
    ok(dk.cli(['commit', '-c', 'CMD ["cat", "/m"]', 'd-mk', 'fromdocker:v1']));
    ok(dk.cli(['rm', 'd-mk']));
    const file = path.join(tmp, 'docker.tar');
    ok(dk.cli(['save', '-o', file, 'fromdocker:v1', 'dockerbox:base']));

    const out = ok(d.cli(['load', '-i', file]));
    expect(out.split('\n').filter(Boolean).sort()).toEqual([
      'Loaded image: dockerbox:base',
      'Loaded image: fromdocker:v1',
    ]);
    expect(id(d.cli, 'fromdocker:v1')).toBe(id(dk.cli, 'fromdocker:v1'));
    expect(ok(d.cli(['run', '--rm', 'fromdocker:v1']))).toBe('made-by-docker\n');
    // The committed layer's deletion (a whiteout) came through.
    const r = d.cli(['run', '--rm', 'fromdocker:v1', 'sh', '-c', 'cat /data/f; ls /etc/group']);
    expect(r.stdout).toBe('x\n');
    expect(r.code).not.toBe(0);
  });

  it('Docker saves by ID; Wharf loads it untagged; saved back by Wharf, Docker takes it', () => {
    const dockerId = id(dk.cli, 'fromdocker:v1');
    const file = path.join(tmp, 'by-id.tar');
    ok(dk.cli(['save', '-o', file, dockerId.slice(7, 19)]));
    ok(d.cli(['rmi', 'fromdocker:v1']));
    expect(ok(d.cli(['load', '-i', file]))).toBe(`Loaded image ID: ${dockerId}\n`);
    expect(ok(d.cli(['run', '--rm', dockerId]))).toBe('made-by-docker\n');

    // And back: Docker removes its copy and loads Wharf's save of it.
    const back = path.join(tmp, 'back.tar');
    ok(d.cli(['save', '-o', back, dockerId]));
    ok(dk.cli(['rmi', 'fromdocker:v1']));
    expect(ok(dk.cli(['load', '-i', back]))).toBe(`Loaded image ID: ${dockerId}\n`);
    expect(ok(dk.cli(['run', '--rm', '--network', 'none', dockerId]))).toBe('made-by-docker\n');
  });
});
