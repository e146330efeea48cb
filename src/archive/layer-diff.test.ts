import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../common/index.js';
import { applyLayer } from './apply-layer.js';
import { overlayDiff } from './layer-diff.js';
import { readTar } from './tar-reader.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('layer-diff tests skipped: they need root (overlay mounts)');

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A real overlay: the changes are made through the merged view, so the upper dir holds what
 * the kernel writes (whiteout devices, opaque xattrs, copied-up parents).
 */
describe.skipIf(!isRoot)('overlayDiff (root)', () => {
  let tmp: string;
  let upper: string;
  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-diff-'));
    const [lower, work, merged] = ['lower', 'work', 'merged'].map((d) => path.join(tmp, d));
    upper = path.join(tmp, 'upper');
    for (const d of [lower, upper, work, merged]) await fsp.mkdir(d);
    await fsp.mkdir(path.join(lower, 'keep'));
    await fsp.writeFile(path.join(lower, 'keep', 'old'), 'old');
    await fsp.mkdir(path.join(lower, 'replaced'));
    await fsp.writeFile(path.join(lower, 'replaced', 'a'), 'a');
    await fsp.writeFile(path.join(lower, 'gone'), 'bye');
    await fsp.mkdir(path.join(lower, 'etc'));
    await fsp.writeFile(path.join(lower, 'etc', 'hosts'), '127.0.0.1 localhost\n');
    await run([
      'mount',
      '-t',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${upper},workdir=${work}`,
      'overlay',
      merged,
    ]);
    try {
      await fsp.rm(path.join(merged, 'gone'));
      await fsp.rm(path.join(merged, 'replaced'), { recursive: true });
      await fsp.mkdir(path.join(merged, 'replaced'));
      await fsp.writeFile(path.join(merged, 'replaced', 'b'), 'b');
      await fsp.writeFile(path.join(merged, 'keep', 'new'), 'new', { mode: 0o640 });
      await fsp.symlink('keep/new', path.join(merged, 'link'));
      await fsp.link(path.join(merged, 'keep', 'new'), path.join(merged, 'hard'));
      await fsp.writeFile(path.join(merged, 'etc', 'hosts'), ''); // as runc's mount point
      await fsp.mkdir(path.join(merged, 'proc'));
    } finally {
      await run(['umount', merged]);
    }
  });
  afterAll(async () => {
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('writes Docker whiteouts and opaque markers, drops overlay xattrs and excluded paths', async () => {
    const tar = await collect(await overlayDiff(upper, { exclude: ['/etc/hosts', 'proc'] }));
    const entries = new Map<
      string,
      { type: string; size: number; xattrs: string[]; mode: number; mtime: string }
    >();
    for await (const { header } of readTar(Readable.from([tar]))) {
      entries.set(header.name.replace(/\/$/, ''), {
        type: header.type,
        size: header.size,
        xattrs: [...header.xattrs.keys()],
        mode: header.mode,
        mtime: header.mtime,
      });
    }
    expect(entries.get('.wh.gone')).toMatchObject({ type: 'file', size: 0 });
    expect(entries.get('replaced')).toMatchObject({ type: 'dir' });
    // As Docker's: the directory's permission bits, no mtime.
    expect(entries.get('replaced/.wh..wh..opq')).toMatchObject({
      type: 'file',
      size: 0,
      mode: entries.get('replaced')!.mode & 0o777,
      mtime: '0',
    });
    expect(entries.get('replaced/b')).toMatchObject({ type: 'file', size: 1 });
    // Hard links: the first name (sorted) carries the data, the other links to it.
    expect(entries.get('hard')).toMatchObject({ type: 'file', size: 3 });
    expect(entries.get('keep/new')).toMatchObject({ type: 'link' });
    expect(entries.get('link')).toMatchObject({ type: 'symlink' });
    expect([...entries.values()].filter((e) => e.type === 'link')).toHaveLength(1);
    expect(entries.has('gone')).toBe(false);
    expect(entries.has('etc/hosts')).toBe(false);
    expect(entries.has('proc')).toBe(false);
    expect(entries.has('etc')).toBe(true); // the copied-up parent stays
    for (const [name, e] of entries)
      expect([name, e.xattrs.filter((x) => x.startsWith('trusted.overlay.'))]).toEqual([name, []]);
  });

  it('applies back to the same overlay form (round trip through applyLayer)', async () => {
    const tar = await collect(await overlayDiff(upper, { exclude: ['etc/hosts', 'proc'] }));
    const dest = path.join(tmp, 'applied');
    await fsp.mkdir(dest);
    await applyLayer(Readable.from([tar]), dest);
    const gone = await fsp.lstat(path.join(dest, 'gone'));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
    const xattr = await run(
      ['getfattr', '--only-values', '-n', 'trusted.overlay.opaque', path.join(dest, 'replaced')],
      {
        allowFailure: true,
      },
    );
    if (xattr.exitCode === 0) expect(xattr.stdout).toBe('y');
    expect(await fsp.readFile(path.join(dest, 'replaced', 'b'), 'utf8')).toBe('b');
    expect(await fsp.readFile(path.join(dest, 'hard'), 'utf8')).toBe('new');
    expect((await fsp.stat(path.join(dest, 'hard'))).ino).toBe(
      (await fsp.stat(path.join(dest, 'keep', 'new'))).ino,
    );
    expect((await fsp.stat(path.join(dest, 'keep', 'new'))).mode & 0o777).toBe(0o640);
  });
});
