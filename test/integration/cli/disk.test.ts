/**
 * Disk space: `system df` and the `prune` commands. `system df` (GET /system/df): images with the layers they share, containers with their
 * writable layers, volumes with their usage; checked against what the store holds, and
 * `wharf system df` printing what the docker CLI prints from the same answer.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { rawRequest } from '../../harness/streams.js';
import { expectSame, ok, uniq } from './helpers.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

interface Du {
  LayersSize: number;
  Images: Array<{ Id: string; Size: number; SharedSize: number; Containers: number }>;
  Containers: Array<{ Id: string; SizeRw: number; State: string }>;
  Volumes: Array<{ Name: string; UsageData: { Size: number; RefCount: number } }>;
  BuildCache: Array<{
    Type: string;
    Description: string;
    Size: number;
    Shared: boolean;
    InUse: boolean;
    CreatedAt: string;
    LastUsedAt: string | null;
  }>;
}

async function df(query = ''): Promise<Du> {
  const res = await rawRequest(d.socket, 'GET', `/system/df${query}`);
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as Du;
}

describe('system df', () => {
  it('counts shared layers once, containers per image, writable layers and volume data', async () => {
    const base = ok(d.cli(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
    const vol = uniq('df-vol');
    const c1 = uniq('df-c1');
    // A child image of busybox: it shares busybox's layer.
    ok(
      d.cli([
        'run',
        '--name',
        c1,
        '-v',
        `${vol}:/data`,
        'busybox',
        'sh',
        '-c',
        'head -c 300000 /dev/zero > /data/blob && head -c 5000 /dev/zero > /big',
      ]),
    );
    const child = uniq('df-child');
    ok(d.cli(['commit', c1, `${child}:v1`]));
    const childId = ok(d.cli(['image', 'inspect', '-f', '{{.Id}}', `${child}:v1`])).trim();
    const c2 = uniq('df-c2');
    ok(d.cli(['run', '-d', '--name', c2, `${child}:v1`, 'sleep', '600']));

    const du = await df();
    const baseRow = du.Images.find((i) => i.Id === base)!;
    const childRow = du.Images.find((i) => i.Id === childId)!;
    expect(baseRow.SharedSize).toBe(baseRow.Size);
    expect(childRow.SharedSize).toBe(baseRow.Size);
    expect(childRow.Size - childRow.SharedSize).toBeGreaterThanOrEqual(5000);
    expect(baseRow.Containers).toBeGreaterThanOrEqual(1);
    expect(childRow.Containers).toBe(1);
    // The shared layer counts once in LayersSize.
    expect(du.LayersSize).toBeLessThan(baseRow.Size + childRow.Size);
    expect(du.LayersSize).toBeGreaterThanOrEqual(childRow.Size);

    const first = du.Containers.find((c) =>
      c.Id.startsWith(ok(d.cli(['inspect', '-f', '{{.Id}}', c1])).trim()),
    )!;
    expect(first.SizeRw).toBeGreaterThanOrEqual(5000);
    expect(first.State).toBe('exited');
    const v = du.Volumes.find((x) => x.Name === vol)!;
    expect(v.UsageData.Size).toBe(300000);
    expect(v.UsageData.RefCount).toBe(1);
    expect(du.BuildCache).toEqual([]);

    // The same answer, drawn by both CLIs.
    expectSame(d, ['system', 'df']);
    expectSame(d, ['system', 'df', '-v']);
    expectSame(d, ['system', 'df', '--format', '{{.Type}}: {{.Size}} {{.Reclaimable}}']);
    expectSame(d, ['system', 'df', '--format', 'json']);

    ok(d.cli(['rm', '-f', c1, c2]));
    const after = await df('?type=volume');
    expect(after.Volumes.find((x) => x.Name === vol)!.UsageData.RefCount).toBe(0);
    expect(after.Images).toBeUndefined();
    expect(after.Containers).toBeUndefined();
    ok(d.cli(['volume', 'rm', vol]));
    ok(d.cli(['rmi', `${child}:v1`]));
  });

  it('lists the build cache: step layers, shared while an image uses them, and cache mounts', async () => {
    const dir = path.join(d.dataRoot, '..', uniq('df-ctx'));
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(
        path.join(dir, 'Dockerfile'),
        // The stage's layer holds more than what is copied from it: otherwise it can be the very
        // layer COPY --from makes (same parent, same single file, same mtime), which the image
        // then shares.
        'FROM busybox AS tools\n' +
          'RUN head -c 9000 /dev/zero > /nine && echo tools > /stage-only\n' +
          'FROM busybox\n' +
          'COPY --from=tools /nine /nine\n' +
          'RUN head -c 7000 /dev/zero > /seven\n' +
          'ENV STEP=two\n' +
          'RUN --mount=type=cache,target=/cache head -c 3000 /dev/zero > /cache/three\n',
      );
      const tag = `${uniq('df-built')}:v1`;
      // The docker CLI warns on stderr that the classic builder is deprecated.
      const built = d.cli(['build', '-q', '-t', tag, dir], { env: { DOCKER_BUILDKIT: '0' } });
      expect(built.code, built.stderr).toBe(0);
      let du = await df('?type=build-cache');
      const regular = du.BuildCache.filter((b) => b.Type === 'regular');
      const layered = regular.find((b) => b.Description.includes('head -c 7000'))!;
      expect(layered.Size).toBeGreaterThanOrEqual(7000);
      expect(layered.Shared).toBe(true); // the tagged image uses its layer
      expect(layered.InUse).toBe(false);
      expect(regular.find((b) => b.Description.includes('STEP=two'))?.Size).toBe(0);
      // A build stage's layer no image uses: the cache's own, reclaimable.
      const stage = regular.find((b) => b.Description.includes('head -c 9000'))!;
      expect(stage.Size).toBeGreaterThanOrEqual(9000);
      expect(stage.Shared).toBe(false);
      const mount = du.BuildCache.find((b) => b.Type === 'exec.cachemount')!;
      expect(mount.Size).toBe(3000);
      // Never hit yet; a rebuild (every step cached) is a use.
      expect(layered.LastUsedAt).toBeNull();
      const rebuilt = d.cli(['build', '-q', '-t', tag, dir], { env: { DOCKER_BUILDKIT: '0' } });
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      du = await df('?type=build-cache');
      const hit = du.BuildCache.find((b) => b.Description.includes('head -c 7000'))!;
      expect(Date.parse(hit.LastUsedAt ?? '')).toBeGreaterThan(Date.parse(hit.CreatedAt));
      expectSame(d, ['system', 'df']);
      expectSame(d, ['system', 'df', '-v']);

      // Removing the image frees its layers, and the steps that made them stop being cached.
      ok(d.cli(['rmi', tag]));
      du = await df('?type=build-cache');
      expect(du.BuildCache.find((b) => b.Description.includes('head -c 7000'))).toBeUndefined();
      expect(du.BuildCache.find((b) => b.Description.includes('head -c 9000'))).toBeDefined();
      const pruned = d.cli(['builder', 'prune', '-f']); // warns that the legacy builder is deprecated
      expect(pruned.code, pruned.stderr).toBe(0);
      du = await df('?type=build-cache');
      expect(du.BuildCache).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown object type as dockerd does', async () => {
    const res = await rawRequest(d.socket, 'GET', '/system/df?type=widgets');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ message: 'unknown object type: widgets' });
  });
});

describe('prune commands', () => {
  it('ask first, as docker does, and keep everything on "n"', () => {
    const c = uniq('prune-ask');
    ok(d.cli(['create', '--name', c, 'busybox', 'true']));
    for (const args of [
      ['container', 'prune'],
      ['image', 'prune'],
      ['image', 'prune', '-a'],
      ['volume', 'prune'],
      ['network', 'prune'],
      ['system', 'prune'],
      ['system', 'prune', '-a'],
      ['system', 'prune', '--volumes'],
      ['system', 'prune', '-a', '--volumes'],
    ]) {
      expectSame(d, args, { input: 'n\n' });
    }
    ok(d.cli(['inspect', c]));
    ok(d.cli(['rm', c]));
  });

  it('wharf container prune and image prune remove what docker would and total the space', () => {
    const c = uniq('prune-stopped');
    const scope = `scope=${c}`;
    ok(
      d.cli([
        'run',
        '--name',
        c,
        '-l',
        scope,
        'busybox',
        'sh',
        '-c',
        'head -c 4000 /dev/zero > /f',
      ]),
    );
    const id = ok(d.cli(['inspect', '-f', '{{.Id}}', c])).trim();
    const running = uniq('prune-running');
    ok(d.cli(['run', '-d', '--name', running, 'busybox', 'sleep', '600']));
    const out = ok(d.wharf(['container', 'prune', '-f', '--filter', `label=${scope}`]));
    expect(out).toContain(`Deleted Containers:\n${id}\n\n`);
    expect(out).toMatch(/\n\nTotal reclaimed space: 4kB\n$/);
    expect(d.cli(['inspect', c]).code).toBe(1);
    ok(d.cli(['inspect', running]));

    const img = uniq('prune-img');
    ok(d.cli(['commit', running, `${img}:one`]));
    const imgId = ok(d.cli(['image', 'inspect', '-f', '{{.Id}}', `${img}:one`])).trim();
    // Not dangling: a plain prune keeps it; -a takes it (no container uses it).
    expect(ok(d.wharf(['image', 'prune', '-f']))).not.toContain(imgId);
    const all = ok(d.wharf(['image', 'prune', '-a', '-f', '--filter', `label!=nothing`]));
    expect(all).toContain(`untagged: ${img}:one\n`);
    expect(all).toContain(`deleted: ${imgId}\n`);
    ok(d.cli(['image', 'inspect', 'busybox'])); // the running container's image stays
    ok(d.cli(['rm', '-f', running]));
  });
});

describe('network and system prune', () => {
  it('network prune prints what docker prints for the same state', () => {
    const scope = uniq('netprune');
    const outputs = [d.cli, d.wharf].map((run) => {
      ok(d.cli(['network', 'create', '--label', `scope=${scope}`, scope]));
      return ok(run(['network', 'prune', '-f', '--filter', `label=scope=${scope}`]));
    });
    expect(outputs[0]).toBe(`Deleted Networks:\n${scope}\n\n`);
    expect(outputs[1]).toBe(outputs[0]);
  });

  it('wharf system prune removes stopped containers, unused networks, unused images, volumes', () => {
    const scope = uniq('sysprune');
    const label = `scope=${scope}`;
    ok(d.cli(['network', 'create', '--label', label, scope]));
    ok(d.cli(['run', '--name', scope, '-l', label, '-v', '/anon', 'busybox', 'true']));
    const id = ok(d.cli(['inspect', '-f', '{{.Id}}', scope])).trim();
    const vol = ok(d.cli(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', scope])).trim();
    ok(d.cli(['commit', '-c', `LABEL ${label}`, scope]));
    const image = ok(d.cli(['images', '-q', '--no-trunc', '--filter', `label=${label}`])).trim();
    expect(image).toMatch(/^sha256:/);
    const out = ok(d.wharf(['system', 'prune', '-f', '--volumes', '--filter', `label=${label}`]));
    expect(out).toContain(`Deleted Containers:\n${id}\n\n`);
    expect(out).toContain(`Deleted Networks:\n${scope}\n\n`);
    // The filter applies to volumes too: the anonymous volume carries no label, so it stays
    // (as with docker), and goes with a prune that selects it.
    expect(out).not.toContain('Deleted Volumes');
    expect(out).toContain(`Deleted Images:\ndeleted: ${image}\n`);
    expect(out).toMatch(/\nTotal reclaimed space: [\d.]+k?B\n$/);
    // A build's step cache goes too.
    const ctx = path.join(d.dataRoot, '..', `${scope}-ctx`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo cached > /c\n');
    ok(d.wharf(['build', '-q', ctx]));
    expect(ok(d.wharf(['system', 'prune', '-f']))).toMatch(
      /Deleted build cache objects:\n[0-9a-f]{64}\n/,
    );
    rmSync(ctx, { recursive: true, force: true });
    expect(d.cli(['inspect', scope]).code).toBe(1);
    expect(d.cli(['network', 'inspect', scope]).code).toBe(1);
    expect(d.cli(['image', 'inspect', image]).code).toBe(1);
    expect(ok(d.wharf(['system', 'prune', '-f', '--volumes']))).toContain(`${vol}\n`);
    expect(d.cli(['volume', 'inspect', vol]).code).toBe(1);
    ok(d.cli(['image', 'inspect', 'busybox']));
  });
});
