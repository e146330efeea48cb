/**
 * Pull from Debian's reference registry with the docker CLI, dockerode and wharf: multi-layer
 * images with gzip, zstd and uncompressed layers (put there by skopeo from OCI layouts made
 * here), by tag and by digest, an index with several platforms, RepoDigests, "up to date".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spawnSync } from 'node:child_process';

import { busyboxRootfsTar, ROOT, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { ptyRun, q } from '../../harness/pty.js';
import {
  fileTar,
  makeOciLayout,
  skopeoCopy,
  startRegistry,
  type Msg,
  type RegistryHandle,
} from './registry.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let work: string;

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon({ withBusybox: false });
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-pull-'));
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

function lines(out: string): Array<Record<string, unknown>> {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('pull', () => {
  it('pulls a three-layer image (gzip, zstd, none) with the docker CLI and runs it', async () => {
    const layout = path.join(work, 'multi');
    const { top } = await makeOciLayout(layout, 'v1', [
      {
        layers: [
          readFileSync(busyboxRootfsTar()),
          fileTar({ 'etc/greeting': 'hello from layer two\n' }),
          fileTar({ 'etc/third': 'three\n' }),
        ],
        compression: ['gzip', 'zstd', 'none'],
        cmd: ['cat', '/etc/greeting', '/etc/third'],
      },
    ]);
    const ref = `${reg.host}/multi:v1`;
    skopeoCopy(layout, 'v1', ref);
    const r = d.cli(['pull', ref], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('v1: Pulling from multi');
    expect(r.stdout).toContain('Pull complete');
    expect(r.stdout).toContain(`Digest: ${top.digest}`);
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
    const run = d.cli(['run', '--rm', ref]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('hello from layer two\nthree\n');
    const inspect = JSON.parse(d.cli(['image', 'inspect', ref]).stdout)[0];
    expect(inspect.RepoTags).toEqual([ref]);
    expect(inspect.RepoDigests).toEqual([`${reg.host}/multi@${top.digest}`]);
    expect(inspect.RootFS.Layers).toHaveLength(3);
    const digests = d.cli([
      'images',
      '--digests',
      '--format',
      '{{.Repository}} {{.Tag}} {{.Digest}}',
    ]);
    expect(digests.stdout).toContain(`${reg.host}/multi v1 ${top.digest}`);
    const table = ['images', '--digests', `${reg.host}/multi`];
    expect(d.wharf(table).stdout).toBe(d.cli(table).stdout);
    // Again: nothing to fetch.
    const again = d.cli(['pull', ref]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already exists');
    expect(again.stdout).toContain(`Status: Image is up to date for ${ref}`);
  });

  it('streams docker progress messages to dockerode and pulls by digest', async () => {
    const layout = path.join(work, 'bydigest');
    const { top } = await makeOciLayout(layout, 'x', [
      // A layer of its own: one already present would be "Already exists".
      { layers: [fileTar({ 'by-digest': `${Date.now()}\n` })], compression: 'gzip', cmd: ['true'] },
    ]);
    skopeoCopy(layout, 'x', `${reg.host}/bydigest:x`);
    const ref = `${reg.host}/bydigest@${top.digest}`;
    const stream = await d.docker.pull(ref);
    const msgs: Array<Record<string, unknown>> = await new Promise((resolve, reject) =>
      d.docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))),
    );
    const statuses = msgs.map((m) => m['status']);
    expect(statuses).toContain('Pulling fs layer');
    expect(statuses).toContain('Download complete');
    expect(statuses).toContain('Pull complete');
    expect(statuses).toContain(`Status: Downloaded newer image for ${ref}`);
    const downloading = msgs.find((m) => m['status'] === 'Downloading');
    expect(downloading?.['progressDetail']).toMatchObject({ total: expect.any(Number) });
    const img = await d.docker.getImage(ref).inspect();
    expect(img.RepoDigests).toEqual([ref]);
    expect(img.RepoTags).toEqual([]);
  });

  it('pulls a Docker schema2 image and pushes it back unchanged', async () => {
    const layout = path.join(work, 'v2s2');
    await makeOciLayout(layout, 'd', [
      {
        layers: [fileTar({ 'docker.txt': 'schema2\n' }), fileTar({ 'more.txt': 'x\n' })],
        compression: 'gzip',
        cmd: ['true'],
      },
    ]);
    skopeoCopy(layout, 'd', `${reg.host}/v2s2:d`, { format: 'v2s2' });
    const r = d.cli(['pull', `${reg.host}/v2s2:d`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const digest = /Digest: (sha256:[a-f0-9]{64})/.exec(r.stdout)![1]!;
    expect(d.cli(['tag', `${reg.host}/v2s2:d`, `${reg.host}/v2s2copy:d`]).code).toBe(0);
    const push = d.wharf(['push', `${reg.host}/v2s2copy:d`]);
    expect(push.stderr).toBe('');
    // The stored manifest goes out byte for byte: same digest, same media type.
    expect(push.stdout).toContain(`d: digest: ${digest}`);
    const res = await fetch(`http://${reg.host}/v2/v2s2copy/manifests/d`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(res.headers.get('content-type')).toBe(
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    expect(push.stdout).toContain('Mounted from v2s2');
  });

  it('chooses the platform from an index (linux/amd64 by default, --platform otherwise)', async () => {
    const layout = path.join(work, 'multiarch');
    await makeOciLayout(layout, 'latest', [
      {
        layers: [fileTar({ arch: 'arm64\n' })],
        compression: 'gzip',
        architecture: 'arm64',
        variant: 'v8',
      },
      { layers: [fileTar({ arch: 'amd64\n' })], compression: 'gzip', architecture: 'amd64' },
      {
        layers: [fileTar({ arch: 'armv7\n' })],
        compression: 'zstd',
        architecture: 'arm',
        variant: 'v7',
      },
    ]);
    skopeoCopy(layout, 'latest', `${reg.host}/multiarch:latest`);
    const amd = d.wharf(['pull', '-q', `${reg.host}/multiarch`]);
    expect(amd.stderr).toBe('');
    expect(amd.stdout).toBe(`${reg.host}/multiarch:latest\n`);
    expect(
      JSON.parse(d.cli(['image', 'inspect', `${reg.host}/multiarch`]).stdout)[0].Architecture,
    ).toBe('amd64');
    const arm = d.cli(['pull', '--platform', 'linux/arm/v7', `${reg.host}/multiarch`]);
    expect(arm.stderr).toBe('');
    const armImg = JSON.parse(d.cli(['image', 'inspect', `${reg.host}/multiarch`]).stdout)[0];
    expect(armImg.Architecture).toBe('arm');
    const none = d.cli(['pull', '--platform', 'linux/s390x', `${reg.host}/multiarch`]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('no matching manifest for linux/s390x');
  });

  it('reports an unknown tag and an unknown repository as docker does', () => {
    const r = d.cli(['pull', `${reg.host}/nothing:here`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Error response from daemon: manifest for ${reg.host}/nothing:here not found: manifest unknown`,
    );
    const api = d.cli(['pull', `${reg.host}/multi:nope`]);
    expect(api.stderr).toContain('manifest unknown');
    // Nothing listens on port 1: retried, then reported as docker words it.
    const refused = d.cli(['pull', '127.0.0.1:1/x']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'Error response from daemon: Get "http://127.0.0.1:1/v2/x/manifests/latest": connect ECONNREFUSED',
    );
  });

  it('runs concurrent pulls of the same image to one consistent result', async () => {
    const layout = path.join(work, 'concurrent');
    await makeOciLayout(layout, 'c', [
      {
        layers: [
          fileTar({ 'one.bin': Buffer.alloc(3_000_000, 3) }),
          fileTar({ 'two.bin': Buffer.alloc(3_000_000, 4) }),
          fileTar({ 'three.bin': Buffer.alloc(3_000_000, 5) }),
        ],
        compression: 'gzip',
        cmd: ['true'],
      },
    ]);
    const ref = `${reg.host}/concurrent:c`;
    skopeoCopy(layout, 'c', ref);
    const pullOnce = async (): Promise<Msg[]> => {
      const stream = await d.docker.pull(ref);
      return new Promise((resolve, reject) =>
        d.docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))),
      );
    };
    const results = await Promise.all([pullOnce(), pullOnce(), pullOnce()]);
    for (const msgs of results) expect(msgs.find((m) => m.error)).toBeUndefined();
    const img = await d.docker.getImage(ref).inspect();
    expect(img.RootFS.Layers).toHaveLength(3);
    const layers = await fsp.readdir(path.join(d.dataRoot, 'overlay/tmp'));
    expect(layers).toEqual([]);
  });

  it('pulls every tag with -a', () => {
    const layout = path.join(work, 'multi');
    skopeoCopy(layout, 'v1', `${reg.host}/alltags:a`);
    skopeoCopy(layout, 'v1', `${reg.host}/alltags:b`);
    const r = d.cli(['pull', '-a', `${reg.host}/alltags`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('a: Pulling from alltags');
    expect(r.stdout).toContain('b: Pulling from alltags');
    const tags = d.cli(['images', '--format', '{{.Tag}}', `${reg.host}/alltags`]).stdout;
    expect(tags.split('\n').filter(Boolean).sort()).toEqual(['a', 'b']);
  });

  it('draws per-layer progress in place on a terminal (wharf pull on a pty)', async () => {
    const layout = path.join(work, 'tty');
    await makeOciLayout(layout, 't', [
      {
        layers: [fileTar({ 'a.bin': Buffer.alloc(3_000_000, 1) }), fileTar({ b: 'b\n' })],
        compression: 'gzip',
      },
    ]);
    skopeoCopy(layout, 't', `${reg.host}/tty:t`);
    const line = [path.join(ROOT, 'bin/wharf'), 'pull', `${reg.host}/tty:t`].map(q).join(' ');
    const r = ptyRun(d, line);
    expect(r.code).toBe(0);
    // Layer lines are redrawn with cursor-up / clear-line sequences, then the summary lines.
    expect(r.stdout).toMatch(/\x1b\[\d+A\x1b\[2K\r[0-9a-f]{12}: Pull complete/);
    expect(r.stdout).toContain('t: Pulling from tty');
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${reg.host}/tty:t`);
  });

  it('imports a zstd-compressed tarball', () => {
    const tar = readFileSync(busyboxRootfsTar());
    const zst = spawnSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 28 }).stdout;
    const file = path.join(work, 'rootfs.tar.zst');
    writeFileSync(file, zst);
    const imp = d.cli(['import', '-c', 'CMD ["echo", "zstd import"]', file, 'zimport:1']);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    expect(d.cli(['run', '--rm', 'zimport:1']).stdout).toBe('zstd import\n');
  });

  it('streams JSON progress over the raw API', async () => {
    const res = await fetchOverSocket(
      d.socket,
      `/images/create?fromImage=${reg.host}/multi&tag=v1`,
    );
    expect(res.status).toBe(200);
    const msgs = lines(res.body);
    expect(msgs[0]).toEqual({ status: 'Pulling from multi', id: 'v1' });
    expect(msgs.at(-1)).toEqual({ status: `Status: Image is up to date for ${reg.host}/multi:v1` });
  });
});

async function fetchOverSocket(
  socket: string,
  p: string,
): Promise<{ status: number; body: string }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: p, method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
