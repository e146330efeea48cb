/**
 * `docker save` / `docker load` against wharfd with real clients (docker CLI, dockerode, wharf):
 * what the archive holds (OCI layout + manifest.json, every blob matching its digest), round
 * trips with tags, several images sharing layers, save by ID (loads untagged), and save errors.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Readable } from 'node:stream';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { DOCKER_CLI, ROOT, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { ptyRun, q } from '../../harness/pty.js';
import { ok, readArchive, sha256, storeState } from './save-load-helpers.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wharf-save-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

let seq = 0;
function name(prefix: string): string {
  const n = `${prefix}${process.pid}x${seq++}`;
  onTestFinished(() => {
    const tags = d.cli(['images', n, '--format', '{{.Repository}}:{{.Tag}}']).stdout.split('\n');
    for (const t of tags.filter(Boolean)) d.cli(['rmi', '-f', t]);
  });
  return n;
}

const imageId = (ref: string): string =>
  ok(d.cli(['image', 'inspect', '-f', '{{.Id}}', ref])).trim();

/** A child image of busybox (one more layer), committed from a container. */
function childImage(ref: string, content: string): string {
  const c = `mk-${ref.replace(/[:/]/g, '-')}`;
  ok(d.cli(['run', '--name', c, 'busybox', 'sh', '-c', `echo ${content} > /marker`]));
  ok(d.cli(['commit', '-c', 'CMD ["cat", "/marker"]', c, ref]));
  ok(d.cli(['rm', c]));
  return imageId(ref);
}

describe('save', () => {
  it('writes an OCI layout with manifest.json whose blobs all match their digests', async () => {
    const file = path.join(tmp, 'busybox.tar');
    ok(d.cli(['save', '-o', file, 'busybox']));
    const files = await readArchive(readFileSync(file));
    expect(JSON.parse(files.get('oci-layout')!.toString())).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    for (const [n, data] of files) {
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(n);
      if (m) expect(sha256(data), n).toBe(`sha256:${m[1]}`);
    }
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toHaveLength(1);
    expect(manifest[0].RepoTags).toEqual(['busybox:latest']);
    expect(`sha256:${manifest[0].Config.split('/').at(-1)}`).toBe(imageId('busybox'));
    const index = JSON.parse(files.get('index.json')!.toString());
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': 'docker.io/library/busybox:latest',
      'org.opencontainers.image.ref.name': 'latest',
    });
    const m = JSON.parse(
      files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString(),
    );
    expect(m.config.digest).toBe(imageId('busybox'));
    expect(m.layers.map((l: { digest: string }) => `blobs/sha256/${l.digest.slice(7)}`)).toEqual(
      manifest[0].Layers,
    );
    const repositories = JSON.parse(files.get('repositories')!.toString());
    expect(Object.keys(repositories)).toEqual(['busybox']);
  });

  it('an unknown image is a 404 before any byte is sent; no file is left', () => {
    const file = path.join(tmp, 'none.tar');
    for (const cli of [d.cli, d.wharf]) {
      const r = cli(['save', '-o', file, 'busybox', 'no-such-image:v9']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('Error response from daemon: No such image: no-such-image:v9\n');
      expect(existsSync(file)).toBe(false);
    }
  });

  it('a blob corrupted on disk cuts the stream: no archive is written, the daemon lives', async () => {
    const ref = `${name('corrupt')}:v1`;
    childImage(ref, 'corrupt');
    const good = path.join(tmp, 'corrupt-good.tar');
    ok(d.cli(['save', '-o', good, ref]));
    const [entry] = JSON.parse(
      (await readArchive(readFileSync(good))).get('manifest.json')!.toString(),
    );
    const top = entry.Layers.at(-1).split('/').at(-1);
    const blob = path.join(d.dataRoot, 'content', 'blobs', 'sha256', top);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1024] ^= 0xff; // same size, different content
    chmodSync(blob, 0o644);
    writeFileSync(blob, bytes);
    // docker CLI v28 reports the cut ("unexpected EOF") but keeps the partial file (its atomic
    // writer commits when only the read side failed); wharf removes it.
    const byDocker = d.cli(['save', '-o', path.join(tmp, 'corrupt-docker.tar'), ref]);
    expect(byDocker.code).toBe(1);
    expect(byDocker.stderr).toContain('unexpected EOF');
    const file = path.join(tmp, 'corrupt-wharf.tar');
    const byWharf = d.wharf(['save', '-o', file, ref]);
    expect(byWharf.code).toBe(1);
    expect(existsSync(file)).toBe(false);
    expect(d.alive).toBe(true);
    // The daemon still serves, and the intact image still saves.
    expect(ok(d.cli(['save', 'busybox'])).length).toBeGreaterThan(1024);
    ok(d.cli(['rmi', '-f', ref]));
  });

  it('refuses to write the tar to a terminal (wharf and docker alike)', () => {
    for (const bin of [[path.join(ROOT, 'bin/wharf')], [DOCKER_CLI]]) {
      const r = ptyRun(d, [...bin, 'save', 'busybox'].map(q).join(' '));
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('cowardly refusing to save to a terminal');
    }
  });
});

describe('save and load round trips', () => {
  it('docker CLI: tags of several images sharing a layer survive; the images run', async () => {
    const a = `${name('rt-a')}:v1`;
    const b = `${name('rt-b')}:v2`;
    const idA = childImage(a, 'from-a');
    const idB = childImage(b, 'from-b');
    ok(d.cli(['tag', a, `${a.split(':')[0]}:extra`]));
    const file = path.join(tmp, 'two.tar');
    ok(d.cli(['save', '-o', file, a, b, `${a.split(':')[0]}:extra`]));

    // The busybox layer is stored once though both images use it.
    const files = await readArchive(readFileSync(file));
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toHaveLength(2);
    const layersA: string[] = manifest.find((e: { RepoTags: string[] }) =>
      e.RepoTags.includes(a),
    ).Layers;
    const layersB: string[] = manifest.find((e: { RepoTags: string[] }) =>
      e.RepoTags.includes(b),
    ).Layers;
    expect(layersA[0]).toBe(layersB[0]);
    expect(layersA).toHaveLength(2);

    ok(d.cli(['rmi', a, b, `${a.split(':')[0]}:extra`]));
    const out = ok(d.cli(['load', '-i', file]));
    expect(out.split('\n').filter(Boolean).sort()).toEqual(
      [`Loaded image: ${a}`, `Loaded image: ${a.split(':')[0]}:extra`, `Loaded image: ${b}`].sort(),
    );
    expect(imageId(a)).toBe(idA);
    expect(imageId(`${a.split(':')[0]}:extra`)).toBe(idA);
    expect(imageId(b)).toBe(idB);
    expect(ok(d.cli(['run', '--rm', a]))).toBe('from-a\n');
    expect(ok(d.cli(['run', '--rm', b]))).toBe('from-b\n');
    expect(storeState(d).spool).toEqual([]);
  });

  it('saved by ID, an image loads without tags ("Loaded image ID")', () => {
    const ref = `${name('by-id')}:v1`;
    const id = childImage(ref, 'by-id');
    const file = path.join(tmp, 'by-id.tar');
    ok(d.cli(['save', '-o', file, id.slice(7, 19)]));
    ok(d.cli(['rmi', ref]));
    expect(ok(d.cli(['load', '-i', file]))).toBe(`Loaded image ID: ${id}\n`);
    expect(JSON.parse(ok(d.cli(['image', 'inspect', id])))[0].RepoTags).toEqual([]);
    expect(ok(d.cli(['run', '--rm', id]))).toBe('by-id\n');
    ok(d.cli(['rmi', id]));
  });

  it('loading over a tag held by another image moves the tag, as dockerd says', () => {
    const ref = `${name('moved')}:v1`;
    const first = childImage(ref, 'one');
    const file = path.join(tmp, 'moved.tar');
    ok(d.cli(['save', '-o', file, ref]));
    ok(d.cli(['rmi', ref]));
    const second = childImage(ref, 'two');
    expect(second).not.toBe(first);
    const out = ok(d.cli(['load', '-i', file]));
    expect(out).toContain(
      `The image ${ref} already exists, renaming the old one with ID ${second} to empty string`,
    );
    expect(out).toContain(`Loaded image: ${ref}`);
    expect(imageId(ref)).toBe(first);
    ok(d.cli(['rmi', second]));
  });

  it('dockerode: getImage().get() streams a tar that loadImage() takes back', async () => {
    const ref = `${name('dockerode')}:v1`;
    const id = childImage(ref, 'dockerode');
    const since = new Date().toISOString();
    const stream = await d.docker.getImage(ref).get();
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const tar = Buffer.concat(chunks);
    expect((await readArchive(tar)).has('manifest.json')).toBe(true);
    ok(d.cli(['rmi', ref]));
    const res = (await d.docker.loadImage(Readable.from([tar]), {
      quiet: true,
    })) as unknown as Readable;
    const body: Buffer[] = [];
    for await (const c of res) body.push(c as Buffer);
    const lines = Buffer.concat(body)
      .toString()
      .split(/\r?\n/)
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([{ stream: `Loaded image: ${ref}\n` }]);
    expect(imageId(ref)).toBe(id);
    // Events as dockerd: save and load, each naming the image by ID.
    const events = ok(
      d.cli([
        'events',
        '--since',
        since,
        '--until',
        new Date(Date.now() + 1000).toISOString(),
        '--filter',
        'type=image',
        '--filter',
        'event=save',
        '--filter',
        'event=load',
        '--format',
        '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}',
      ]),
    );
    expect(events).toBe(`save ${id} ${id}\nload ${id} ${id}\n`);
  });

  it('docker save | wharf load through a pipe (reloading an image it has is harmless)', () => {
    const ref = `${name('piped')}:v1`;
    const id = childImage(ref, 'piped');
    const before = storeState(d);
    const wharf = [path.join(ROOT, 'bin/wharf')].map(q).join(' ');
    const r = spawnSync('sh', ['-c', `${q(DOCKER_CLI)} save ${q(ref)} | ${wharf} load`], {
      env: { ...process.env, DOCKER_HOST: `unix://${d.socket}` },
    });
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe(`Loaded image: ${ref}\n`);
    expect(imageId(ref)).toBe(id);
    expect(storeState(d)).toEqual(before);
  });

  it('on a terminal, docker and wharf load show "Loading layer" progress (bars need > 110 columns, as in docker)', () => {
    const ref = `${name('tty')}:v1`;
    childImage(ref, 'tty');
    const file = path.join(tmp, 'tty.tar');
    ok(d.cli(['save', '-o', file, ref]));
    for (const bin of [[DOCKER_CLI], [path.join(ROOT, 'bin/wharf')]]) {
      ok(d.cli(['rmi', ref]));
      const r = ptyRun(d, [...bin, 'load', '-i', file].map(q).join(' '));
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/[0-9a-f]{12}: Loading layer .*[\d.]+[kMG]?B\/[\d.]+[kMG]?B/);
      expect(r.stdout).toContain(`Loaded image: ${ref}`);
    }
  });

  it('a bare repository saves all its tags; a gzipped archive loads', () => {
    const repo = name('alltags');
    const id = childImage(`${repo}:one`, 'all-tags');
    ok(d.cli(['tag', `${repo}:one`, `${repo}:two`]));
    const wharf = [path.join(ROOT, 'bin/wharf')].map(q).join(' ');
    const gz = path.join(tmp, 'alltags.tar.gz');
    const env = { ...process.env, DOCKER_HOST: `unix://${d.socket}` };
    const saved = spawnSync('sh', ['-c', `${wharf} save ${q(repo)} | gzip > ${q(gz)}`], { env });
    expect(saved.stderr.toString()).toBe('');
    expect(saved.status).toBe(0);
    ok(d.cli(['rmi', `${repo}:one`, `${repo}:two`]));
    const out = spawnSync('sh', ['-c', `${wharf} image load -q < ${q(gz)}`], { env });
    expect(out.stderr.toString()).toBe('');
    expect(out.stdout.toString().split('\n').filter(Boolean).sort()).toEqual([
      `Loaded image: ${repo}:one`,
      `Loaded image: ${repo}:two`,
    ]);
    expect(imageId(`${repo}:two`)).toBe(id);
  });

  it('wharf save -o / wharf image load -i -q', () => {
    const ref = `${name('wharfcli')}:v1`;
    const id = childImage(ref, 'wharf-cli');
    const file = path.join(tmp, 'wharf.tar');
    expect(ok(d.wharf(['image', 'save', '-o', file, ref]))).toBe('');
    ok(d.wharf(['rmi', ref]));
    expect(ok(d.wharf(['load', '-q', '-i', file]))).toBe(`Loaded image: ${ref}\n`);
    expect(imageId(ref)).toBe(id);
    const missing = d.wharf(['load', '-i', path.join(tmp, 'missing.tar')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file or directory');
  });
});
