/**
 * Blobs and layers are flushed in the background, after a pull commits them. A machine that
 * goes down before that flush may leave them torn; the daemon must not take them for
 * complete after the reboot. The reboot is faked with WHARF_TEST_BOOT_ID_FILE (the daemon's
 * stand-in for /proc/sys/kernel/random/boot_id), the lost flush by putting the stores back in
 * the state they have before it (no `flushed` marker beside the layer, the boot's
 * unflushed-blobs marker present), as after a kill -9 at that instant.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  busyboxRootfsTar,
  eventually,
  startDaemon,
  type DaemonHandle,
} from '../../harness/daemon.js';
import {
  fileTar,
  makeOciLayout,
  skopeoCopy,
  startRegistry,
  type RegistryHandle,
} from '../pull/registry.js';
import { ok } from './save-load-helpers.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let work: string;
let bootFile: string;

beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-unflushed-'));
  bootFile = path.join(work, 'boot_id');
  await fsp.writeFile(bootFile, `${randomUUID()}\n`);
  reg = await startRegistry();
  d = await startDaemon({ withBusybox: false, env: { WHARF_TEST_BOOT_ID_FILE: bootFile } });
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

/** Push an image (busybox + one layer holding `file`) to the registry; its reference. */
async function pushImage(name: string, file: string): Promise<string> {
  const layout = path.join(work, name);
  await makeOciLayout(layout, 't', [
    {
      layers: [
        readFileSync(busyboxRootfsTar()),
        fileTar({ [file]: randomBytes(256 * 1024), [`${file}.txt`]: `${name}\n` }),
      ],
      compression: ['gzip', 'gzip'],
      cmd: ['cat', `/${file}.txt`],
    },
  ]);
  const ref = `${reg.host}/unflushed/${name}:t`;
  skopeoCopy(layout, 't', ref);
  return ref;
}

const overlay = (...p: string[]): string => path.join(d.dataRoot, 'overlay', ...p);
const content = (...p: string[]): string => path.join(d.dataRoot, 'content', ...p);

/** The layer directories of an image, top first. */
function layerDirs(ref: string): string[] {
  const data = JSON.parse(
    ok(d.cli(['image', 'inspect', ref, '--format', '{{json .GraphDriver.Data}}'])),
  );
  return [data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])].map((p: string) =>
    path.dirname(p),
  );
}

/** The config, manifest and layer blobs of an image, as files in the content store. */
async function blobFiles(ref: string): Promise<{ config: string; layers: string[] }> {
  const id = ok(d.cli(['image', 'inspect', ref, '--format', '{{.Id}}'])).trim();
  const rec = JSON.parse(
    await fsp.readFile(path.join(d.dataRoot, 'image/images', `${id.slice(7)}.json`), 'utf8'),
  ) as { layers: Array<{ digest: string }> };
  return {
    config: content('blobs/sha256', id.slice(7)),
    layers: rec.layers.map((l) => content('blobs/sha256', l.digest.slice(7))),
  };
}

/** Kill the daemon, then put back what a flush not yet run leaves: no flushed markers for
 * `unflushedLayers`, and this boot's unflushed-blobs marker, older than every blob. */
async function crashBeforeFlush(unflushedLayers: string[]): Promise<string> {
  await d.crash();
  for (const dir of unflushedLayers) await fsp.rm(path.join(dir, 'flushed'), { force: true });
  const boot = (await fsp.readFile(bootFile, 'utf8')).trim();
  const marker = content(`unflushed-${boot}.json`);
  await fsp.writeFile(
    marker,
    JSON.stringify({ schemaVersion: 1, boot, since: Date.now() - 60_000 }),
  );
  return marker;
}

/** Whether every layer directory has its `flushed` marker. */
async function allFlushed(dirs: string[]): Promise<boolean> {
  const marks = await Promise.all(
    dirs.map((l) =>
      fsp.access(path.join(l, 'flushed')).then(
        () => true,
        () => false,
      ),
    ),
  );
  return marks.every(Boolean);
}

describe('blobs and layers not yet flushed', () => {
  it('are flushed in the background after a pull (markers appear, the boot marker goes)', async () => {
    const ref = await pushImage('bg', 'bg');
    ok(d.cli(['pull', ref]));
    const dirs = layerDirs(ref);
    const boot = (await fsp.readFile(bootFile, 'utf8')).trim();
    await eventually(
      async () =>
        (await allFlushed(dirs)) &&
        !(await fsp.readdir(content())).includes(`unflushed-${boot}.json`),
      20_000,
      'the background flush to mark the layers and drop the boot marker',
    );
    const rec = JSON.parse(await fsp.readFile(path.join(dirs[0]!, 'layer.json'), 'utf8'));
    expect(rec.boot).toBe(boot);
  }, 60_000);

  it('are flushed before a clean shutdown (SIGTERM) ends the daemon', async () => {
    const ref = await pushImage('term', 'term');
    ok(d.cli(['pull', ref]));
    const dirs = layerDirs(ref);
    const exited = new Promise((r) => d.process.once('exit', r));
    d.process.kill('SIGTERM');
    await exited;
    for (const l of dirs) await fsp.access(path.join(l, 'flushed'));
    expect((await fsp.readdir(content())).filter((n) => n.startsWith('unflushed-'))).toEqual([]);
    await d.restart();
    expect(ok(d.cli(['run', '--rm', ref]))).toBe('term\n');
  }, 60_000);

  it('survive a kill -9 while the machine stays up, untouched, and are flushed again', async () => {
    const ref = await pushImage('same', 'same');
    ok(d.cli(['pull', ref]));
    const dirs = layerDirs(ref);
    const inodes = await Promise.all(
      dirs.map(async (l) => (await fsp.stat(path.join(l, 'diff'))).ino),
    );
    const blobs = await blobFiles(ref);
    const blobInodes = await Promise.all(
      [blobs.config, ...blobs.layers].map(async (f) => (await fsp.stat(f)).ino),
    );
    const marker = await crashBeforeFlush(dirs);
    await d.restart();
    expect(ok(d.cli(['run', '--rm', ref]))).toBe('same\n');
    expect(
      await Promise.all(dirs.map(async (l) => (await fsp.stat(path.join(l, 'diff'))).ino)),
    ).toEqual(inodes);
    expect(
      await Promise.all([blobs.config, ...blobs.layers].map(async (f) => (await fsp.stat(f)).ino)),
    ).toEqual(blobInodes);
    await eventually(
      async () =>
        (await allFlushed(dirs)) &&
        !(await fsp.access(marker).then(
          () => true,
          () => false,
        )),
      20_000,
      'the restarted daemon to flush them again',
    );
  }, 90_000);

  it('are not trusted after a reboot: damaged images are dropped and pulled again', async () => {
    const good = await pushImage('good', 'good');
    const torn = await pushImage('torn', 'torn');
    const badblob = await pushImage('badblob', 'badblob');
    for (const r of [good, torn, badblob]) ok(d.cli(['pull', r]));
    const tornDirs = layerDirs(torn);
    const goodDirs = layerDirs(good);
    const badBlobs = await blobFiles(badblob);
    // A sentinel outside the data root, reachable through a symlink in the torn layer.
    const outside = path.join(work, 'outside');
    await fsp.mkdir(outside);
    await fsp.writeFile(path.join(outside, 'keep'), 'keep');
    await eventually(
      async () => (await fsp.readdir(content())).every((n) => !n.startsWith('unflushed-')),
      20_000,
      'the first flush',
    );

    // A container made from `torn`: its snapshot is built on the layer that will be lost.
    const ctr = `unflushed-${d.name}`;
    ok(d.cli(['create', '--name', ctr, torn]));

    // The machine goes down before the top layer of `torn` and the blobs were flushed...
    await crashBeforeFlush([tornDirs[0]!]);
    await fsp.writeFile(path.join(tornDirs[0]!, 'diff/torn'), '');
    await fsp.symlink(outside, path.join(tornDirs[0]!, 'diff/out'));
    await fsp.chmod(badBlobs.config, 0o644);
    await fsp.truncate(badBlobs.config, 10);
    // ... and comes back as another boot.
    await fsp.writeFile(bootFile, `${randomUUID()}\n`);
    await d.restart();

    expect(d.cli(['image', 'inspect', torn]).code).not.toBe(0);
    expect(d.cli(['image', 'inspect', badblob]).code).not.toBe(0);
    const listed = ok(d.cli(['images', '--format', '{{.Repository}}:{{.Tag}}']));
    expect(listed).toContain(good);
    expect(listed).not.toContain(torn);
    expect(listed).not.toContain(badblob);
    // The torn layer is gone (the base it shares with `good` is not), so is the bad blob.
    await expect(fsp.access(tornDirs[0]!)).rejects.toThrow();
    for (const l of goodDirs) await fsp.access(path.join(l, 'diff'));
    await expect(fsp.access(badBlobs.config)).rejects.toThrow();
    expect(await fsp.readdir(overlay('tmp'))).toEqual([]);
    expect(await fsp.readFile(path.join(outside, 'keep'), 'utf8')).toBe('keep');
    expect(d.output()).toMatch(/discarding layer/);
    expect(d.output()).toMatch(/dropping a blob damaged by a machine crash/);
    expect(d.output()).toMatch(/dropping image record without its content/);
    expect(d.output()).toMatch(/dropping a snapshot built on a layer lost to a machine crash/);
    expect(d.output()).not.toMatch(/"snapshots: dropping a snapshot"/);

    // The container's snapshot went with the layer: it cannot start, and it can be removed.
    const start = d.cli(['start', ctr]);
    expect(start.code).not.toBe(0);
    expect(start.stderr).toMatch(/snapshot .* not found/);
    ok(d.cli(['rm', ctr]));
    expect(await fsp.readdir(overlay('containers'))).toEqual([]);

    // Undamaged images run; the damaged ones are pulled again and run.
    expect(ok(d.cli(['run', '--rm', good]))).toBe('good\n');
    for (const [r, text] of [
      [torn, 'torn\n'],
      [badblob, 'badblob\n'],
    ] as const) {
      ok(d.cli(['pull', r]));
      expect(ok(d.cli(['run', '--rm', r]))).toBe(text);
    }
  }, 120_000);
});
