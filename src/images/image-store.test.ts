import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { buildTar } from '../archive/test-tar.js';
import { run, silentLogger } from '../common/index.js';
import { ContentStore } from '../content/index.js';
import { OverlaySnapshotter } from '../snapshots/index.js';
import { ImageStore } from './image-store.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn('image store tests skipped: they need root (layers keep owners and devices)');

const rootfs = () =>
  buildTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: 'not really busybox', mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  ]);

describe.skipIf(!isRoot)('ImageStore (root)', () => {
  let tmp: string;
  const noUser = () => undefined;

  async function open(): Promise<ImageStore> {
    const logger = silentLogger();
    return ImageStore.open({
      root: path.join(tmp, 'image'),
      content: await ContentStore.open(path.join(tmp, 'content'), logger),
      snapshots: await OverlaySnapshotter.open(path.join(tmp, 'snapshots'), logger),
      logger,
    });
  }

  beforeEach(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-images-'));
  });
  afterEach(async () => {
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('imports a rootfs as a one-layer image with docker-like config, history and inspect', async () => {
    const store = await open();
    const created = new Date('2024-05-01T10:00:00Z');
    const { id } = await store.import(Readable.from([gzipSync(await rootfs())]), {
      ref: 'busybox:latest',
      changes: ['CMD ["sh"]', 'ENV A=1', 'LABEL team=wharf'],
      created,
    });
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    // same input, same time → same ID (the ID is the config digest)
    const again = await store.import(Readable.from([await rootfs()]), {
      changes: ['CMD ["sh"]', 'ENV A=1', 'LABEL team=wharf'],
      created,
    });
    expect(again.id).toBe(id);

    for (const name of [
      'busybox',
      'busybox:latest',
      'docker.io/library/busybox:latest',
      id,
      id.slice(7),
      id.slice(7, 19),
      id.slice(0, 15),
    ]) {
      expect((await store.resolve(name)).id).toBe(id);
    }
    await expect(store.resolve('nope')).rejects.toMatchObject({
      kind: 'not-found',
      message: 'No such image: nope:latest',
    });
    await expect(store.resolve('busybox:1')).rejects.toThrow('No such image: busybox:1');
    await expect(store.resolve('Bad')).rejects.toMatchObject({ kind: 'invalid-argument' });

    const ins = await store.inspect('busybox');
    expect(ins).toMatchObject({
      Id: id,
      RepoTags: ['busybox:latest'],
      RepoDigests: [],
      Comment: 'Imported from -',
      Created: created.toISOString(),
      Architecture: 'amd64',
      Os: 'linux',
      Size: 'not really busybox'.length,
      Config: {
        Cmd: ['sh'],
        Env: ['A=1'],
        Labels: { team: 'wharf' },
        Entrypoint: null,
        WorkingDir: '',
      },
      GraphDriver: { Name: 'overlay2' },
    });
    expect(ins.RootFS.Layers).toHaveLength(1);
    expect(store.config(id)).toMatchObject({ Cmd: ['sh'] });
    expect(store.layers(id)).toBe(ins.RootFS.Layers[0]); // one layer: chain ID = diffID

    expect(await store.history('busybox')).toEqual([
      {
        Id: id,
        Created: created.getTime() / 1000,
        CreatedBy: '',
        Tags: ['busybox:latest'],
        Size: 'not really busybox'.length,
        Comment: 'Imported from -',
      },
    ]);
  });

  it('tags, lists with filters, survives a restart', async () => {
    let store = await open();
    const a = await store.import(Readable.from([await rootfs()]), {
      ref: 'busybox',
      created: new Date(1_000_000),
    });
    const b = await store.import(Readable.from([await rootfs()]), {
      ref: 'localhost:5000/app:v1',
      changes: ['LABEL tier=web'],
      created: new Date(2_000_000),
    });
    const c = await store.import(Readable.from([await rootfs()]), { created: new Date(3_000_000) });
    await store.tag('busybox', 'busybox', 'v2');
    await expect(store.tag('busybox', 'Bad')).rejects.toMatchObject({
      kind: 'invalid-argument',
      message: 'invalid reference format: repository name (library/Bad) must be lowercase',
    });
    await expect(store.tag('busybox', 'ok', 'bad tag')).rejects.toThrow('invalid tag format');
    await expect(store.tag('missing', 'x')).rejects.toThrow('No such image: missing:latest');

    store = await open(); // restart
    const ids = async (filters?: Record<string, string[]>) =>
      (await store.list({ filters })).map((s) => s.Id);
    expect(await ids()).toEqual([c.id, b.id, a.id]);
    expect((await store.list())[2]!.RepoTags).toEqual(['busybox:latest', 'busybox:v2']);
    expect(await ids({ dangling: ['true'] })).toEqual([c.id]);
    expect(await ids({ dangling: ['false'] })).toEqual([b.id, a.id]);
    expect(await ids({ label: ['tier=web'] })).toEqual([b.id]);
    expect(await ids({ label: ['tier'] })).toEqual([b.id]);
    expect(await ids({ before: ['localhost:5000/app:v1'] })).toEqual([a.id]);
    expect(await ids({ since: ['busybox'] })).toEqual([c.id, b.id]);
    const byRef = await store.list({ filters: { reference: ['busybox:v*'] } });
    expect(byRef.map((s) => [s.Id, s.RepoTags])).toEqual([[a.id, ['busybox:v2']]]);
    expect(await ids({ reference: ['localhost:5000/*'] })).toEqual([b.id]);
    await expect(store.list({ filters: { bogus: ['1'] } })).rejects.toThrow(
      "invalid filter 'bogus'",
    );
    expect((await store.inspect('busybox:v2')).Metadata.LastTagTime).not.toBe(
      '0001-01-01T00:00:00Z',
    );
  });

  it('removes like docker rmi: untag, delete, conflicts', async () => {
    const store = await open();
    const a = await store.import(Readable.from([await rootfs()]), { ref: 'busybox' });
    await store.tag('busybox', 'other');
    const short = a.id.slice(7, 19);
    // an ID matching several repositories needs force
    await expect(store.remove(short, { usedBy: noUser })).rejects.toMatchObject({
      kind: 'conflict',
      message: `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
    });
    // a reference is untagged while others remain
    expect(await store.remove('other', { usedBy: noUser })).toEqual([{ Untagged: 'other:latest' }]);
    // the last reference of an image a container uses
    const user = () => 'c0ffee0000000000000000';
    await expect(store.remove('busybox', { usedBy: user })).rejects.toMatchObject({
      kind: 'conflict',
      message: `conflict: unable to remove repository reference "busybox" (must force) - container c0ffee000000 is using its referenced image ${short}`,
    });
    await expect(store.remove(a.id, { usedBy: user })).rejects.toThrow(
      `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container c0ffee000000`,
    );
    await expect(
      store.remove(a.id, {
        force: true,
        usedBy: () => ({ id: 'c0ffee0000000000', running: true }),
      }),
    ).rejects.toThrow(
      `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container c0ffee000000`,
    );
    const layer = store.layers(a.id)!;
    expect(await store.remove('busybox', { usedBy: noUser })).toEqual([
      { Untagged: 'busybox:latest' },
      { Deleted: a.id },
      { Deleted: layer },
    ]);
    await expect(store.resolve(a.id)).rejects.toMatchObject({ kind: 'not-found' });
    expect(await store.list()).toEqual([]);
    expect(await fsp.readdir(path.join(tmp, 'content', 'blobs', 'sha256'))).toEqual([]);
  });

  it('keeps a shared layer until its last image goes', async () => {
    const store = await open();
    const a = await store.import(Readable.from([await rootfs()]), {
      ref: 'a',
      created: new Date(1),
    });
    const b = await store.import(Readable.from([await rootfs()]), {
      ref: 'b',
      created: new Date(2),
    });
    const layer = store.layers(b.id)!;
    expect(store.layers(a.id)).toBe(layer);
    expect(await store.remove('a', { usedBy: noUser })).toEqual([
      { Untagged: 'a:latest' },
      { Deleted: a.id },
    ]);
    expect((await store.inspect('b')).Id).toBe(b.id);
    expect(await store.remove('b', { usedBy: noUser })).toEqual([
      { Untagged: 'b:latest' },
      { Deleted: b.id },
      { Deleted: layer },
    ]);
  });

  it('rejects a hostile import without leaving a layer, blob or image', async () => {
    const store = await open();
    const evil = await buildTar([{ name: '../../etc/evil', content: 'x' }]);
    await expect(store.import(Readable.from([evil]), { ref: 'evil' })).rejects.toMatchObject({
      kind: 'invalid-argument',
    });
    await expect(
      store.import(Readable.from([await rootfs()]), { changes: ['RUN x'] }),
    ).rejects.toThrow('run is not a valid change command');
    expect(await store.list()).toEqual([]);
    expect(await fsp.readdir(path.join(tmp, 'content', 'blobs', 'sha256'))).toEqual([]);
    expect(await fsp.readdir(path.join(tmp, 'snapshots', 'tmp'))).toEqual([]);
  });

  const script = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../scripts/mkbusybox.sh',
  );
  it.skipIf(!existsSync('/bin/busybox'))(
    'imports the mkbusybox.sh rootfs; two builds give one diffID',
    async () => {
      const t1 = path.join(tmp, 'bb1.tar');
      const t2 = path.join(tmp, 'bb2.tar');
      await run([script, t1]);
      await run([script, t2]);
      expect(await fsp.readFile(t1)).toEqual(await fsp.readFile(t2));
      const store = await open();
      const created = new Date('2024-01-01T00:00:00Z');
      const { id } = await store.import(Readable.from([await fsp.readFile(t1)]), {
        ref: 'busybox',
        created,
      });
      const again = await store.import(Readable.from([await fsp.readFile(t2)]), { created });
      expect(again.id).toBe(id);
      const diff = (await store.inspect('busybox')).GraphDriver.Data.UpperDir!;
      expect((await fsp.lstat(path.join(diff, 'tmp'))).mode & 0o7777).toBe(0o1777);
      expect(await fsp.readlink(path.join(diff, 'bin/sh'))).toBe('/bin/busybox');
      expect((await fsp.stat(path.join(diff, 'home/wharf'))).uid).toBe(1000);
      expect(await fsp.readFile(path.join(diff, 'etc/group'), 'utf8')).toContain(
        'wharfsup:x:2000:wharf',
      );
    },
    30_000,
  );
});
