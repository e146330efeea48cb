/**
 * `POST /images/load` of archives other tools make: OCI layouts from skopeo (gzip and zstd
 * layers), a hand-made layout with a multi-platform index and containerd's name annotation,
 * and the pre-Docker-25 docker-archive (`<id>/layer.tar`, `<config-hex>.json`, symlinked
 * layers). Every loaded image runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import {
  json,
  ok,
  readArchive,
  sha256,
  storeState,
  writeArchive,
  type Entry,
} from './save-load-helpers.js';

let d: DaemonHandle;
let tmp: string;
/** busybox as `wharf save` wrote it: its config and its (uncompressed) layer. */
let base: { config: Buffer; layer: Buffer; id: string };

beforeAll(async () => {
  d = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wharf-load-'));
  const file = path.join(tmp, 'busybox.tar');
  ok(d.cli(['save', '-o', file, 'busybox']));
  const files = await readArchive(readFileSync(file));
  const [entry] = JSON.parse(files.get('manifest.json')!.toString());
  base = {
    config: files.get(entry.Config)!,
    layer: files.get(entry.Layers[0])!,
    id: `sha256:${entry.Config.split('/').at(-1)}`,
  };
  expect(sha256(base.config)).toBe(base.id);
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

/** A config for `layer` (uncompressed) on top of busybox, running `cat /marker`. */
function childConfig(layerDiffID: string): Buffer {
  const cfg = JSON.parse(base.config.toString());
  cfg.rootfs = { type: 'layers', diff_ids: [...cfg.rootfs.diff_ids, layerDiffID] };
  cfg.config = { ...cfg.config, Cmd: ['cat', '/marker'] };
  cfg.history = [...(cfg.history ?? []), { created_by: 'test layer' }];
  return Buffer.from(JSON.stringify(cfg));
}

async function markerLayer(text: string): Promise<Buffer> {
  return writeArchive([{ name: 'marker', data: `${text}\n` }]);
}

function blob(data: Buffer): Entry {
  return { name: `blobs/sha256/${sha256(data).slice(7)}`, data };
}

const desc = (mediaType: string, data: Buffer, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: sha256(data),
  size: data.length,
  ...extra,
});

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function load(file: string): string {
  return ok(d.cli(['load', '-i', file]));
}

describe('OCI image layouts', () => {
  it('skopeo oci-archive with gzip and with zstd layers', () => {
    for (const compression of ['gzip', 'zstd']) {
      const ref = `${name(`skopeo-${compression}`)}:v1`;
      const src = path.join(tmp, `src-${compression}.tar`);
      ok(d.cli(['tag', 'busybox', ref]));
      ok(d.cli(['save', '-o', src, ref]));
      ok(d.cli(['rmi', ref]));
      const out = path.join(tmp, `oci-${compression}.tar`);
      const r = spawnSync('skopeo', [
        'copy',
        '--dest-compress-format',
        compression,
        '--dest-compress',
        `docker-archive:${src}`,
        `oci-archive:${out}:${ref}`,
      ]);
      expect(r.stderr.toString()).toBe('');
      expect(r.status).toBe(0);
      // skopeo names the image with org.opencontainers.image.ref.name = "<repo>:<tag>".
      expect(load(out)).toBe(`Loaded image: ${ref}\n`);
      expect(ok(d.cli(['run', '--rm', ref, 'echo', compression]))).toBe(`${compression}\n`);
      // skopeo rewrites the config (an OCI one); the layers are busybox's whatever the compression.
      const layers = (r: string) => ok(d.cli(['image', 'inspect', '-f', '{{.RootFS.Layers}}', r]));
      expect(layers(ref)).toBe(layers('busybox'));
    }
  });

  it('an image with zstd layers saves them decompressed (loadable by any Docker)', async () => {
    const ref = `${name('zstd-resave')}:v1`;
    const src = path.join(tmp, 'zsrc.tar');
    const oci = path.join(tmp, 'zoci.tar');
    ok(d.cli(['tag', 'busybox', ref]));
    ok(d.cli(['save', '-o', src, ref]));
    ok(d.cli(['rmi', ref]));
    const r = spawnSync('skopeo', [
      'copy',
      '--dest-compress-format',
      'zstd',
      '--dest-compress',
      `docker-archive:${src}`,
      `oci-archive:${oci}:${ref}`,
    ]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(load(oci)).toBe(`Loaded image: ${ref}\n`);
    const out = path.join(tmp, 'zresaved.tar');
    ok(d.cli(['save', '-o', out, ref]));
    const files = await readArchive(readFileSync(out));
    const [entry] = JSON.parse(files.get('manifest.json')!.toString());
    const config = JSON.parse(files.get(entry.Config)!.toString());
    // Each layer is the plain tar: its blob digest is its diffID.
    expect(entry.Layers.map((l: string) => sha256(files.get(l)!))).toEqual(config.rootfs.diff_ids);
    const index = JSON.parse(files.get('index.json')!.toString());
    const m = JSON.parse(
      files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString(),
    );
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar',
    ]);
    ok(d.cli(['rmi', ref]));
    expect(load(out)).toBe(`Loaded image: ${ref}\n`);
    expect(ok(d.cli(['run', '--rm', ref, 'echo', 'resaved']))).toBe('resaved\n');
  });

  it('a hand-made layout: nested multi-platform index, io.containerd.image.name, gzip layer', async () => {
    const ref = `${name('handmade')}:v1`;
    const layer = await markerLayer('handmade');
    const gz = gzipSync(layer);
    const config = childConfig(sha256(layer));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: desc('application/vnd.oci.image.config.v1+json', config),
        layers: [
          desc('application/vnd.oci.image.layer.v1.tar', base.layer),
          desc('application/vnd.oci.image.layer.v1.tar+gzip', gz),
        ],
      }),
    );
    const armManifest = Buffer.from('{"this is":"never read"}');
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          desc(OCI_MANIFEST, armManifest, { platform: { os: 'linux', architecture: 'arm64' } }),
          desc(OCI_MANIFEST, manifest, { platform: { os: 'linux', architecture: 'amd64' } }),
        ],
      }),
    );
    const file = path.join(tmp, 'handmade.tar');
    writeFileSync(
      file,
      await writeArchive([
        json('oci-layout', { imageLayoutVersion: '1.0.0' }),
        blob(base.layer),
        blob(gz),
        blob(config),
        blob(manifest),
        blob(index),
        json('index.json', {
          schemaVersion: 2,
          manifests: [
            desc(OCI_INDEX, index, {
              annotations: {
                'io.containerd.image.name': `docker.io/library/${ref}`,
                'org.opencontainers.image.ref.name': 'v1',
              },
            }),
          ],
        }),
      ]),
    );
    expect(load(file)).toBe(`Loaded image: ${ref}\n`);
    expect(ok(d.cli(['run', '--rm', ref]))).toBe('handmade\n');
    expect(ok(d.cli(['image', 'inspect', '-f', '{{.Id}}', ref])).trim()).toBe(sha256(config));
  });

  it('an image of 125 layers loads and runs (overlay mount options stay under a page)', async () => {
    const ref = `${name('tall')}:v1`;
    const layers: Buffer[] = [];
    for (let i = 1; i <= 124; i++) {
      layers.push(await writeArchive([{ name: `layers/l${i}`, data: `${i}\n` }]));
    }
    // A later layer replaces what an earlier one wrote: the top one wins.
    layers.push(await writeArchive([{ name: 'layers/l1', data: 'top-wins\n' }]));
    const cfg = JSON.parse(base.config.toString());
    cfg.rootfs = {
      type: 'layers',
      diff_ids: [...cfg.rootfs.diff_ids, ...layers.map((l) => sha256(l))],
    };
    cfg.config = {
      ...cfg.config,
      Cmd: ['sh', '-c', 'ls /layers | wc -l; cat /layers/l1 /layers/l124'],
    };
    cfg.history = [...(cfg.history ?? []), ...layers.map(() => ({ created_by: 'tall' }))];
    const config = Buffer.from(JSON.stringify(cfg));
    const all = [base.layer, ...layers];
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: desc('application/vnd.oci.image.config.v1+json', config),
        layers: all.map((l) => desc('application/vnd.oci.image.layer.v1.tar', l)),
      }),
    );
    const file = path.join(tmp, 'tall.tar');
    writeFileSync(
      file,
      await writeArchive([
        json('oci-layout', { imageLayoutVersion: '1.0.0' }),
        ...all.map(blob),
        blob(config),
        blob(manifest),
        json('index.json', {
          schemaVersion: 2,
          manifests: [
            desc(OCI_MANIFEST, manifest, {
              annotations: { 'io.containerd.image.name': `docker.io/library/${ref}` },
            }),
          ],
        }),
      ]),
    );
    expect(load(file)).toBe(`Loaded image: ${ref}\n`);
    expect(ok(d.cli(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', ref])).trim()).toBe('126');
    expect(ok(d.cli(['run', '--rm', ref])).replace(/ +/g, '')).toBe('124\ntop-wins\n124\n');
  });

  it('an index entry whose ref.name is a bare tag loads untagged', async () => {
    const layer = await markerLayer('bare-tag');
    const config = childConfig(sha256(layer));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: desc('application/vnd.oci.image.config.v1+json', config),
        layers: [
          desc('application/vnd.oci.image.layer.v1.tar', base.layer),
          desc('application/vnd.oci.image.layer.v1.tar', layer),
        ],
      }),
    );
    const file = path.join(tmp, 'bare.tar');
    writeFileSync(
      file,
      await writeArchive([
        json('oci-layout', { imageLayoutVersion: '1.0.0' }),
        blob(base.layer),
        blob(layer),
        blob(config),
        blob(manifest),
        json('index.json', {
          schemaVersion: 2,
          manifests: [
            desc(OCI_MANIFEST, manifest, {
              annotations: { 'org.opencontainers.image.ref.name': 'latest' },
            }),
          ],
        }),
      ]),
    );
    expect(load(file)).toBe(`Loaded image ID: ${sha256(config)}\n`);
    ok(d.cli(['rmi', sha256(config)]));
  });
});

describe('docker-archive as Docker before 25 wrote it', () => {
  it('<config>.json, <v1-id>/layer.tar, a symlinked layer, repositories', async () => {
    const ref = `${name('legacy')}:v1`;
    const layer = await markerLayer('legacy');
    const config = childConfig(sha256(layer));
    const v1a = 'a'.repeat(64);
    const v1b = 'b'.repeat(64);
    const v1c = 'c'.repeat(64);
    const [repo, tag] = ref.split(':') as [string, string];
    const file = path.join(tmp, 'legacy.tar');
    writeFileSync(
      file,
      await writeArchive([
        { name: `${sha256(config).slice(7)}.json`, data: config },
        { name: `${v1a}/`, type: 'directory' },
        { name: `${v1a}/VERSION`, data: '1.0' },
        { name: `${v1a}/layer.tar`, data: base.layer },
        { name: `${v1a}/json`, data: '{}' },
        { name: `${v1b}/`, type: 'directory' },
        { name: `${v1b}/layer.tar`, data: layer },
        // A third image layer identical to the first: Docker writes it as a symlink.
        { name: `${v1c}/`, type: 'directory' },
        { name: `${v1c}/layer.tar`, type: 'symlink', linkname: `../${v1a}/layer.tar` },
        json('manifest.json', [
          {
            Config: `${sha256(config).slice(7)}.json`,
            RepoTags: [ref],
            Layers: [`${v1a}/layer.tar`, `${v1b}/layer.tar`],
          },
          {
            Config: `${sha256(base.config).slice(7)}.json`,
            RepoTags: null,
            Layers: [`${v1c}/layer.tar`],
          },
        ]),
        { name: `${sha256(base.config).slice(7)}.json`, data: base.config },
        json('repositories', { [repo]: { [tag]: v1b } }),
      ]),
    );
    const before = storeState(d);
    expect(load(file)).toBe(`Loaded image: ${ref}\nLoaded image ID: ${base.id}\n`);
    expect(ok(d.cli(['run', '--rm', ref]))).toBe('legacy\n');
    // busybox was there already: one new layer, and busybox keeps its tag.
    expect(storeState(d).layers.length).toBe(before.layers.length + 1);
    expect(ok(d.cli(['image', 'inspect', '-f', '{{.RepoTags}}', 'busybox']))).toBe(
      '[busybox:latest]\n',
    );
  });
});
