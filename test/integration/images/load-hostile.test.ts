/**
 * Hostile and broken archives given to `docker load`: each fails with a clear message, the
 * daemon keeps serving, and the store is exactly as before (no image, blob, layer or spool
 * file left behind). Also a daemon killed mid-load: after restart nothing of it remains.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGzip } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import {
  json,
  ok,
  readArchive,
  sha256,
  storeState,
  writeArchive,
  type Entry,
} from './save-load-helpers.js';
import { tarFileHeader } from '../pull/registry.js';

let d: DaemonHandle;
let tmp: string;
let saved: Buffer;
let files: Map<string, Buffer>;
let entry: { Config: string; RepoTags: string[]; Layers: string[] };

beforeAll(async () => {
  d = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wharf-hostile-'));
  // A second image, so that a load has a layer of its own to (not) leave behind.
  ok(d.cli(['run', '--name', 'mk', 'busybox', 'sh', '-c', 'echo x > /x']));
  ok(d.cli(['commit', 'mk', 'victim:v1']));
  ok(d.cli(['rm', 'mk']));
  const file = path.join(tmp, 'victim.tar');
  ok(d.cli(['save', '-o', file, 'victim:v1']));
  ok(d.cli(['rmi', 'victim:v1']));
  saved = readFileSync(file);
  files = await readArchive(saved);
  entry = JSON.parse(files.get('manifest.json')!.toString())[0];
});
afterAll(async () => {
  await d?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The saved archive's entries with some replaced, dropped or added. */
function variant(change: {
  replace?: Record<string, Buffer>;
  drop?: string[];
  add?: Entry[];
}): Entry[] {
  const out: Entry[] = [];
  for (const [name, data] of files) {
    if (change.drop?.includes(name)) continue;
    out.push({ name, data: change.replace?.[name] ?? data });
  }
  return [...out, ...(change.add ?? [])];
}

/** `docker load` of `tar` fails with `message`, and leaves the daemon as it was. */
function expectRefused(tar: Buffer, message: string | RegExp): void {
  const before = storeState(d);
  const file = path.join(tmp, 'bad.tar');
  writeFileSync(file, tar);
  const r = d.cli(['load', '-i', file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(d.alive).toBe(true);
  expect(storeState(d)).toEqual(before);
  // Still fully working: the good archive loads.
  expect(ok(d.cli(['load', '-q', '-i', path.join(tmp, 'victim.tar')]))).toBe(
    'Loaded image: victim:v1\n',
  );
  ok(d.cli(['rmi', 'victim:v1']));
}

describe('hostile archives', () => {
  it('an entry whose path climbs out of the archive', async () => {
    const tar = await writeArchive(
      variant({ add: [{ name: '../../../../../tmp/wharf-evil', data: 'x' }] }),
    );
    expectRefused(tar, /invalid archive: path "\.\.\/.*wharf-evil" leaves the archive/);
  });

  it('a layer symlink pointing outside the archive', async () => {
    const layer = entry.Layers.at(-1)!;
    const tar = await writeArchive([
      ...variant({ drop: [layer] }),
      { name: layer, type: 'symlink', linkname: '../../../../etc/passwd' },
    ]);
    expectRefused(tar, /invalid archive: link ".*" points outside the archive/);
  });

  it('a layer whose bytes do not match the digest it is filed under', async () => {
    const layer = entry.Layers.at(-1)!;
    const evil = await writeArchive([{ name: 'x', data: 'not what was saved\n' }]);
    const tar = await writeArchive(variant({ replace: { [layer]: evil } }));
    expectRefused(tar, /digest|diffID/);
  });

  it('a layer the daemon already has, filed under its digest with other bytes', async () => {
    // The base layer is busybox's, present in the store: it must still be checked.
    const baseLayer = entry.Layers[0]!;
    const evil = await writeArchive([{ name: 'x', data: 'other bytes\n' }]);
    const tar = await writeArchive(variant({ replace: { [baseLayer]: evil } }));
    expectRefused(tar, /digest mismatch/);
  });

  it('a config that does not match its digest', async () => {
    const cfg = JSON.parse(files.get(entry.Config)!.toString());
    cfg.config.Cmd = ['evil'];
    const tar = await writeArchive(
      variant({ replace: { [entry.Config]: Buffer.from(JSON.stringify(cfg)) } }),
    );
    expectRefused(tar, /invalid archive: .* does not match its digest/);
  });

  it('a layer not matching the config diff_ids (legacy names, no digest claimed)', async () => {
    const evil = await writeArchive([{ name: 'x', data: 'swapped\n' }]);
    const manifest = [{ ...entry, Layers: [...entry.Layers.slice(0, -1), 'evil/layer.tar'] }];
    const tar = await writeArchive([
      ...variant({ drop: ['manifest.json', 'index.json'] }),
      { name: 'evil/layer.tar', data: evil },
      json('manifest.json', manifest),
    ]);
    expectRefused(tar, /diffID mismatch/);
  });

  it('a manifest naming a layer the archive lacks', async () => {
    const tar = await writeArchive(variant({ drop: [entry.Layers.at(-1)!] }));
    expectRefused(tar, /invalid archive: file "blobs\/sha256\/[a-f0-9]{64}" is missing/);
  });

  it('a truncated tar (cut inside a layer)', () => {
    const layer = files.get(entry.Layers[0]!)!;
    const at = saved.indexOf(layer.subarray(0, 4096)) + 2000;
    expect(at).toBeGreaterThan(2000);
    expectRefused(saved.subarray(0, at), /invalid archive: .*(EOF|truncated)/i);
  });

  it('neither manifest.json nor index.json; not a tar at all; an empty body', async () => {
    expectRefused(
      await writeArchive([{ name: 'hello.txt', data: 'hi' }]),
      /invalid archive: no manifest\.json or index\.json/,
    );
    expectRefused(Buffer.from('this is not a tar archive, not even close'.repeat(20)), /invalid/);
    expectRefused(Buffer.alloc(0), /invalid archive/);
  });

  it('manifest.json that is not a list, and a bad tag', async () => {
    expectRefused(
      await writeArchive(variant({ replace: { 'manifest.json': Buffer.from('{"a":1}') } })),
      /invalid archive: manifest\.json is not a list/,
    );
    const badTag = [{ ...entry, RepoTags: ['NotLower:v1'] }];
    expectRefused(
      await writeArchive(
        variant({ replace: { 'manifest.json': Buffer.from(JSON.stringify(badTag)) } }),
      ),
      /invalid archive: invalid tag "NotLower:v1"/,
    );
  });

  it('a digest mismatch in an OCI layout blob (index.json only)', async () => {
    const index = JSON.parse(files.get('index.json')!.toString());
    const manifestName = `blobs/sha256/${index.manifests[0].digest.slice(7)}`;
    const m = JSON.parse(files.get(manifestName)!.toString());
    m.annotations = { tampered: 'yes' };
    const tar = await writeArchive(
      variant({
        drop: ['manifest.json'],
        replace: { [manifestName]: Buffer.from(JSON.stringify(m)) },
      }),
    );
    expect(sha256(Buffer.from(JSON.stringify(m)))).not.toBe(index.manifests[0].digest);
    expectRefused(tar, /invalid archive: blob sha256:[a-f0-9]{64} does not match its digest/);
  });
});

describe('a client gone mid-load', () => {
  it('leaves nothing behind and the daemon serves on', async () => {
    const before = storeState(d);
    const req = http.request({
      socketPath: d.socket,
      method: 'POST',
      path: '/images/load',
      headers: { 'Content-Type': 'application/x-tar' },
    });
    req.on('error', () => undefined);
    req.write(saved.subarray(0, Math.floor(saved.length / 2)));
    await eventually(() => storeState(d).spool.length > 0, 10_000, 'the load to spool');
    req.destroy();
    await eventually(() => storeState(d).spool.length === 0, 10_000, 'the spool to go');
    expect(storeState(d)).toEqual(before);
    expect(d.alive).toBe(true);
  });
});

describe('a daemon killed mid-load', () => {
  it('leaves no spool file, image or layer after restart', async () => {
    const before = storeState(d);
    // Send half the archive, then kill the daemon while it waits for the rest.
    const req = http.request({
      socketPath: d.socket,
      method: 'POST',
      path: '/images/load',
      headers: { 'Content-Type': 'application/x-tar' },
    });
    req.on('error', () => undefined);
    req.write(saved.subarray(0, Math.floor(saved.length / 2)));
    await eventually(() => storeState(d).spool.length > 0, 10_000, 'the load to spool');
    await d.crash();
    req.destroy();
    await d.restart();
    expect(storeState(d)).toEqual(before);
    expect(ok(d.cli(['load', '-q', '-i', path.join(tmp, 'victim.tar')]))).toBe(
      'Loaded image: victim:v1\n',
    );
  });
});

describe('a gzip bomb', () => {
  let small: DaemonHandle | undefined;
  afterAll(async () => {
    await small?.stop();
  });

  it('stops unpacking before the disk fills, and leaves nothing behind', async () => {
    small = await startDaemon({ dataRootTmpfs: '192m' });
    // 512 MiB of zeros in one file: ~0.5 MB of gzip, more than the daemon's whole disk.
    const size = 512 << 20;
    const header = tarFileHeader('zeros', size);
    const zeros = Buffer.alloc(1 << 20);
    const diff = createHash('sha256');
    const gz: Buffer[] = [];
    const gzip = createGzip({ level: 1 });
    gzip.on('data', (c: Buffer) => gz.push(c));
    const done = new Promise((r) => gzip.on('end', r));
    const feed = async (b: Buffer): Promise<void> => {
      diff.update(b);
      if (!gzip.write(b)) await new Promise((r) => gzip.once('drain', r));
    };
    await feed(header);
    for (let i = 0; i < size >> 20; i++) await feed(zeros);
    await feed(Buffer.alloc(1024));
    gzip.end();
    await done;
    const layer = Buffer.concat(gz);
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [`sha256:${diff.digest('hex')}`] },
    });
    const configName = `${sha256(Buffer.from(config))}.json`;
    const tar = await writeArchive([
      { name: configName, data: config },
      { name: 'bomb/layer.tar', data: layer },
      {
        name: 'manifest.json',
        data: JSON.stringify([
          { Config: configName, RepoTags: ['bomb:v1'], Layers: ['bomb/layer.tar'] },
        ]),
      },
    ]);
    const file = path.join(tmp, 'bomb.tar');
    writeFileSync(file, tar);
    const before = storeState(small);
    const r = small.cli(['load', '-i', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/layer too large: unpacking it would fill the disk/);
    expect(small.alive).toBe(true);
    expect(storeState(small)).toEqual(before);
    // The space came back: a container still runs and writes.
    expect(ok(small.cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo ok > /f && cat /f']))).toBe(
      'ok\n',
    );
  }, 120_000);
});
