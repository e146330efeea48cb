import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { buildTar, type TestEntry } from '../archive/test-tar.js';
import { sha256Digest } from '../oci/index.js';
import { planLoad } from './load-plan.js';
import { SpooledArchive } from './load-spool.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function spool(entries: TestEntry[], gzip = false): Promise<SpooledArchive> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-spool-test-'));
  dirs.push(dir);
  const tar = await buildTar(entries);
  return SpooledArchive.spool(Readable.from([gzip ? gzipSync(tar) : tar]), dir);
}

const layer = Buffer.from('pretend this is a layer tar');
const diffID = sha256Digest(layer);
const config = JSON.stringify({
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [diffID] },
});
const configDigest = sha256Digest(config);
const blob = (data: string | Buffer): TestEntry => ({
  name: `blobs/sha256/${sha256Digest(data).slice(7)}`,
  content: data.toString('latin1'),
});

describe('SpooledArchive', () => {
  it('stores entries under numbers, follows links, reads gzip-compressed archives', async () => {
    const arc = await spool(
      [
        { name: './a/', type: 'directory' },
        { name: './a/layer.tar', content: 'L' },
        { name: 'b/layer.tar', type: 'symlink', linkname: '../a/layer.tar' },
        { name: 'c/layer.tar', type: 'link', linkname: 'a/layer.tar' },
      ],
      true,
    );
    expect(readdirSync(arc.root).every((n) => /^\d+$/.test(n))).toBe(true);
    expect((await arc.read('b/layer.tar')).toString()).toBe('L');
    expect((await arc.read('c/layer.tar')).toString()).toBe('L');
    expect(arc.has('d/layer.tar')).toBe(false);
  });

  it.each<[string, TestEntry[], RegExp]>([
    ['a ../ entry', [{ name: '../escape', content: 'x' }], /leaves the archive/],
    ['an absolute entry', [{ name: '/etc/x', content: 'x' }], /absolute path/],
    [
      'a symlink out',
      [{ name: 'l', type: 'symlink', linkname: '../../etc/passwd' }],
      /points outside the archive/,
    ],
    ['a hard link out', [{ name: 'l', type: 'link', linkname: '../x' }], /leaves the archive/],
  ])('refuses %s', async (_what, entries, msg) => {
    await expect(spool(entries)).rejects.toThrow(msg);
  });

  it('a link loop is a missing file, not a hang', async () => {
    const arc = await spool([
      { name: 'x', type: 'symlink', linkname: 'y' },
      { name: 'y', type: 'symlink', linkname: 'x' },
    ]);
    expect(() => arc.path('x')).toThrow(/is missing/);
  });

  it('a truncated archive fails clearly', async () => {
    const tar = await buildTar([{ name: 'big', content: 'z'.repeat(5000) }]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-spool-test-'));
    dirs.push(dir);
    await expect(SpooledArchive.spool(Readable.from([tar.subarray(0, 2048)]), dir)).rejects.toThrow(
      /invalid archive: .*(EOF|truncated)/i,
    );
  });
});

describe('planLoad', () => {
  it('docker-archive: config hashed, layers in order, tags parsed', async () => {
    const arc = await spool([
      { name: `${configDigest.slice(7)}.json`, content: config },
      { name: 'l1/layer.tar', content: layer.toString() },
      {
        name: 'manifest.json',
        content: JSON.stringify([
          {
            Config: `${configDigest.slice(7)}.json`,
            RepoTags: ['app:v1'],
            Layers: ['l1/layer.tar'],
          },
        ]),
      },
    ]);
    const [plan, ...rest] = await planLoad(arc);
    expect(rest).toEqual([]);
    expect(plan!.configDigest).toBe(configDigest);
    expect(plan!.layers).toEqual([{ name: 'l1/layer.tar' }]);
    expect(plan!.tags.map((t) => `${t.path}:${t.tag}`)).toEqual(['library/app:v1']);
  });

  it('refuses a config filed under another digest, and a layer count mismatch', async () => {
    const wrongName = await spool([
      { name: `${'0'.repeat(64)}.json`, content: config },
      { name: 'l1/layer.tar', content: 'x' },
      {
        name: 'manifest.json',
        content: JSON.stringify([
          { Config: `${'0'.repeat(64)}.json`, RepoTags: null, Layers: ['l1/layer.tar'] },
        ]),
      },
    ]);
    await expect(planLoad(wrongName)).rejects.toThrow(/does not match its digest/);
    const counts = await spool([
      blob(config),
      {
        name: 'manifest.json',
        content: JSON.stringify([
          { Config: `blobs/sha256/${configDigest.slice(7)}`, RepoTags: null, Layers: [] },
        ]),
      },
    ]);
    await expect(planLoad(counts)).rejects.toThrow(/config lists 1 layers, the archive 0/);
  });

  it('OCI layout: the same image under two names is one plan with both tags', async () => {
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffID, size: layer.length },
      ],
    });
    const desc = (name: string) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256Digest(manifest),
      size: manifest.length,
      annotations: { 'io.containerd.image.name': name },
    });
    const arc = await spool([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      blob(config),
      blob(layer),
      blob(manifest),
      {
        name: 'index.json',
        content: JSON.stringify({
          schemaVersion: 2,
          manifests: [desc('docker.io/library/a:1'), desc('docker.io/library/b:2')],
        }),
      },
    ]);
    const plans = await planLoad(arc);
    expect(plans).toHaveLength(1);
    expect(plans[0]!.tags.map((t) => `${t.path}:${t.tag}`)).toEqual(['library/a:1', 'library/b:2']);
    expect(plans[0]!.layers).toEqual([
      {
        name: `blobs/sha256/${diffID.slice(7)}`,
        digest: diffID,
        size: layer.length,
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
      },
    ]);
  });

  it('refuses an image for another operating system', async () => {
    const windows = JSON.stringify({ ...JSON.parse(config), os: 'windows' });
    const arc = await spool([
      blob(windows),
      blob(layer),
      {
        name: 'manifest.json',
        content: JSON.stringify([
          {
            Config: `blobs/sha256/${sha256Digest(windows).slice(7)}`,
            RepoTags: null,
            Layers: [`blobs/sha256/${diffID.slice(7)}`],
          },
        ]),
      },
    ]);
    await expect(planLoad(arc)).rejects.toThrow(
      'image operating system "windows" cannot be used on this platform',
    );
  });

  it('an archive with neither manifest.json nor index.json', async () => {
    await expect(planLoad(await spool([{ name: 'x', content: 'y' }]))).rejects.toThrow(
      /no manifest\.json or index\.json/,
    );
  });
});
