import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildTar } from '../archive/test-tar.js';
import { run, silentLogger } from '../common/index.js';
import { OverlaySnapshotter } from './overlay.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('overlay snapshotter tests skipped: they need root (overlay mounts)');

describe.skipIf(!isRoot)('OverlaySnapshotter (root, real mounts)', () => {
  let tmp: string;
  let snaps: OverlaySnapshotter;
  const mounted: string[] = [];
  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-snap-'));
    snaps = await OverlaySnapshotter.open(path.join(tmp, 'root'), silentLogger());
  });
  afterAll(async () => {
    for (const m of mounted) await run(['umount', '--', m], { allowFailure: true });
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  async function mountAt(id: string, readonly = false): Promise<string> {
    const target = path.join(tmp, `mnt-${id}`);
    await fsp.mkdir(target, { recursive: true });
    await snaps.mount(id, target, readonly);
    mounted.push(target);
    return target;
  }

  it('stacks layers (whiteouts and opaque dirs work), shares committed chains, mounts rw and ro', async () => {
    const base = await snaps.applyLayer(
      undefined,
      Readable.from([
        await buildTar([
          { name: 'etc/', type: 'directory' },
          { name: 'etc/motd', content: 'hello' },
          { name: 'etc/keep', content: 'keep' },
          { name: 'var/', type: 'directory' },
          { name: 'var/old', content: 'old' },
        ]),
      ]),
    );
    expect(base.chainID).toBe(base.diffID);
    const top = await snaps.applyLayer(
      base.chainID,
      Readable.from([
        await buildTar([
          { name: 'etc/.wh.motd' },
          { name: 'var/', type: 'directory' },
          { name: 'var/.wh..wh..opq' },
          { name: 'var/new', content: 'new' },
        ]),
      ]),
    );
    expect(top.parent).toBe(base.chainID);
    expect(await snaps.diffDirs(top.chainID)).toEqual([
      path.join(snaps.root, top.chainID.slice(7), 'diff'),
      path.join(snaps.root, base.chainID.slice(7), 'diff'),
    ]);
    // applying the same layer again is a no-op returning the shared layer
    const again = await snaps.applyLayer(
      undefined,
      Readable.from([
        await buildTar([
          { name: 'etc/', type: 'directory' },
          { name: 'etc/motd', content: 'hello' },
          { name: 'etc/keep', content: 'keep' },
          { name: 'var/', type: 'directory' },
          { name: 'var/old', content: 'old' },
        ]),
      ]),
    );
    expect(again.chainID).toBe(base.chainID);
    expect((await snaps.listLayers()).length).toBe(2);

    await snaps.prepare('c1', top.chainID);
    await expect(snaps.prepare('c1', top.chainID)).rejects.toMatchObject({ kind: 'conflict' });
    // An unknown parent: refused, and nothing is left of the half-made snapshot.
    await expect(snaps.prepare('c-orphan', `sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({
      kind: 'not-found',
    });
    expect(await fsp.readdir(path.join(tmp, 'root', 'tmp'))).toEqual([]);
    await expect(fsp.stat(snaps.snapshotDirs('c-orphan').upper)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const m = await mountAt('c1');
    expect((await fsp.readdir(path.join(m, 'etc'))).sort()).toEqual(['keep']);
    expect(await fsp.readdir(path.join(m, 'var'))).toEqual(['new']);
    await fsp.writeFile(path.join(m, 'etc/added'), 'x');
    expect(await fsp.readFile(path.join(snaps.snapshotDirs('c1').upper, 'etc/added'), 'utf8')).toBe(
      'x',
    );
    expect((await snaps.usage({ id: 'c1' })).size).toBe(1);

    // a layer under a container, or under another layer, cannot go
    await expect(snaps.removeLayer(base.chainID)).rejects.toMatchObject({ kind: 'conflict' });
    await expect(snaps.removeLayer(top.chainID)).rejects.toMatchObject({ kind: 'conflict' });

    await snaps.unmount(m);
    await snaps.unmount(m); // idempotent
    await snaps.prepare('c1ro', top.chainID);
    const ro = await mountAt('c1ro', true);
    await expect(fsp.writeFile(path.join(ro, 'f'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await snaps.unmount(ro);

    await snaps.remove('c1');
    await snaps.remove('c1ro');
    await snaps.removeLayer(top.chainID);
    await snaps.removeLayer(base.chainID);
    expect(await snaps.listLayers()).toEqual([]);
    expect(await fsp.readdir(path.join(snaps.root, 'l'))).toEqual([]);
  });

  it('mounts an image without layers and with one layer', async () => {
    await snaps.prepare('empty', undefined);
    const m0 = await mountAt('empty');
    expect(await fsp.readdir(m0)).toEqual([]);
    await snaps.unmount(m0);
    const one = await snaps.applyLayer(
      undefined,
      Readable.from([await buildTar([{ name: 'only', content: '1' }])]),
    );
    await snaps.prepare('one', one.chainID);
    const m1 = await mountAt('one', true);
    expect(await fsp.readFile(path.join(m1, 'only'), 'utf8')).toBe('1');
    await snaps.unmount(m1);
    await snaps.remove('one');
    await snaps.remove('empty');
    await snaps.removeLayer(one.chainID);
  });

  it('a failed unpack leaves nothing; leftovers of a crash are cleaned on open', async () => {
    await expect(
      snaps.applyLayer(
        undefined,
        Readable.from([await buildTar([{ name: '../x', content: 'x' }])]),
      ),
    ).rejects.toMatchObject({ kind: 'invalid-argument' });
    expect(await fsp.readdir(path.join(snaps.root, 'tmp'))).toEqual([]);
    await fsp.mkdir(path.join(snaps.root, 'tmp', 'half-unpacked', 'diff'), { recursive: true });
    await fsp.symlink('../deadbeef/diff', path.join(snaps.root, 'l', 'DANGLING'));
    snaps = await OverlaySnapshotter.open(snaps.root, silentLogger());
    expect(await fsp.readdir(path.join(snaps.root, 'tmp'))).toEqual([]);
    expect(await fsp.readdir(path.join(snaps.root, 'l'))).toEqual([]);
  });

  it('refuses a layer whose diffID is not the expected one', async () => {
    const tar = await buildTar([{ name: 'a', content: 'a' }]);
    await expect(
      snaps.applyLayer(undefined, Readable.from([tar]), {
        expectedDiffID: `sha256:${'0'.repeat(64)}`,
      }),
    ).rejects.toThrow(/diffID mismatch/);
    expect(await snaps.listLayers()).toEqual([]);
  });

  it('commitAfter: unpacks at once, commits after the gate and the parent, discards on rejection', async () => {
    const tarOf = async (name: string) =>
      Readable.from([await buildTar([{ name, content: name }])]);
    // A child unpacked before its parent exists, committed once the gate opens.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const parentTar = await buildTar([{ name: 'p', content: 'p' }]);
    const { createHash } = await import('node:crypto');
    const parentID = `sha256:${createHash('sha256').update(parentTar).digest('hex')}` as const;
    const child = snaps.applyLayer(parentID, await tarOf('c'), { commitAfter: gate });
    const parent = await snaps.applyLayer(undefined, Readable.from([parentTar]));
    expect(parent.chainID).toBe(parentID);
    expect((await snaps.listLayers()).map((l) => l.chainID)).toEqual([parentID]);
    open();
    const c = await child;
    expect(c.parent).toBe(parentID);
    // A rejected gate leaves nothing committed.
    const refused = snaps.applyLayer(undefined, await tarOf('r'), {
      commitAfter: Promise.reject(new Error('blob digest mismatch')),
    });
    await expect(refused).rejects.toThrow('blob digest mismatch');
    expect((await snaps.listLayers()).map((l) => l.chainID).sort()).toEqual(
      [parentID, c.chainID].sort(),
    );
    expect(await fsp.readdir(path.join(tmp, 'root', 'tmp'))).toEqual([]);
    await snaps.removeLayer(c.chainID);
    await snaps.removeLayer(parentID);
  });

  it('after a reboot, discards layers left unflushed with what is built on them', async () => {
    const root = path.join(tmp, 'reboot');
    const tarOf = async (name: string) =>
      Readable.from([await buildTar([{ name, content: name }])]);
    const a = await OverlaySnapshotter.open(root, silentLogger(), { bootId: 'boot-a' });
    const base = await a.applyLayer(undefined, await tarOf('base'));
    const mid = await a.applyLayer(base.chainID, await tarOf('mid'));
    const top = await a.applyLayer(mid.chainID, await tarOf('top'));
    await a.prepare('on-top', top.chainID);
    await a.prepare('on-base', base.chainID);
    await a.close();
    const marker = (c: string) => path.join(root, c.slice('sha256:'.length), 'flushed');
    for (const l of [base, mid, top]) await fsp.access(marker(l.chainID));
    // The machine went down before mid was flushed (top's marker made it, but not mid's).
    await fsp.rm(marker(mid.chainID));
    // Same boot: all kept, mid flushed again.
    const same = await OverlaySnapshotter.open(root, silentLogger(), { bootId: 'boot-a' });
    expect((await same.listLayers()).length).toBe(3);
    await same.close();
    await fsp.access(marker(mid.chainID));
    // Another boot: mid, top and the snapshot on top go; base and its snapshot stay.
    await fsp.rm(marker(mid.chainID));
    const b = await OverlaySnapshotter.open(root, silentLogger(), { bootId: 'boot-b' });
    expect((await b.listLayers()).map((l) => l.chainID)).toEqual([base.chainID]);
    expect((await fsp.readdir(path.join(root, 'containers'))).sort()).toEqual(['on-base']);
    expect(await fsp.readdir(path.join(root, 'l'))).toHaveLength(1);
    expect(await fsp.readdir(path.join(tmp, 'root', 'tmp'))).toEqual([]);
    await b.close();
  });
});
