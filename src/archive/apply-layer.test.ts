import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyLayer } from './apply-layer.js';
import { tarDirectory } from './tar-directory.js';
import { readTar } from './tar-reader.js';
import { buildTar, type TestEntry } from './test-tar.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn('apply-layer tests skipped: they need root (mknod, chown, trusted.* xattrs)');

describe.skipIf(!isRoot)('applyLayer (root)', () => {
  let tmp: string;
  let n = 0;
  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-archive-'));
  });
  afterAll(async () => {
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  async function apply(tar: Buffer) {
    const root = path.join(tmp, `case${n++}`);
    // a sibling that hostile layers try to reach
    await fsp.mkdir(path.join(root, 'outside'), { recursive: true });
    await fsp.writeFile(path.join(root, 'outside', 'secret'), 'secret');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    return { root, dest, result: applyLayer(Readable.from([tar]), dest) };
  }

  it('extracts files, dirs, symlinks, hard links, devices, fifos, owners, modes, mtimes, xattrs', async () => {
    const entries: TestEntry[] = [
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/busybox', content: 'BUSYBOX', mode: 0o4755, uid: 1000, gid: 1001 },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/fifo', type: 'fifo' },
      {
        name: 'bin/ping',
        content: 'PING',
        mode: 0o755,
        pax: { 'SCHILY.xattr.user.wharf': 'yes' },
        mtime: new Date(1_000_000_000_000),
      },
    ];
    const tar = await buildTar(entries);
    const { dest, result } = await apply(tar);
    const r = await result;
    expect(r.diffID).toBe(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    expect(r.tarSize).toBe(tar.length);
    expect(r.size).toBe('BUSYBOX'.length + 'PING'.length);
    const bb = await fsp.stat(path.join(dest, 'bin/busybox'));
    expect(bb.mode & 0o7777).toBe(0o4755);
    expect([bb.uid, bb.gid, bb.nlink]).toEqual([1000, 1001, 2]);
    expect((await fsp.stat(path.join(dest, 'bin/ash'))).ino).toBe(bb.ino);
    expect(await fsp.readlink(path.join(dest, 'bin/sh'))).toBe('/bin/busybox');
    const nul = await fsp.stat(path.join(dest, 'dev/null'));
    expect(nul.isCharacterDevice()).toBe(true);
    expect(nul.rdev).toBe((1 << 8) | 3);
    expect((await fsp.stat(path.join(dest, 'dev/fifo'))).isFIFO()).toBe(true);
    expect((await fsp.stat(path.join(dest, 'bin/ping'))).mtimeMs).toBe(1_000_000_000_000);
    expect(await xattrsOf(dest, 'bin/ping')).toEqual({ 'user.wharf': 'yes' });
  });

  it('writes large bodies itself with the same owners, modes, mtimes, links and replacements as tar', async () => {
    const big = (c: string): string => c.repeat(300 * 1024);
    const entries: TestEntry[] = [
      { name: './', type: 'directory', mode: 0o755, mtime: new Date(1_500_000_000_000) },
      { name: 'big/', type: 'directory', mode: 0o711, mtime: new Date(1_400_000_000_000) },
      {
        name: 'big/a',
        content: big('a'),
        mode: 0o4750,
        uid: 1234,
        gid: 5678,
        mtime: new Date(1_000_000_000_000),
      },
      { name: 'big/a-link', type: 'link', linkname: 'big/a' },
      { name: 'big/b', content: big('b') },
      { name: 'big/b', content: 'small b' },
      { name: 'big/c', content: big('c'), pax: { 'SCHILY.xattr.user.kept': 'yes' } },
      { name: 'big/d', content: big('d') },
      { name: 'big/d', content: big('D'), mode: 0o600 },
    ];
    const tar = await buildTar(entries);
    const { dest, result } = await apply(gzipSync(tar));
    const r = await result;
    expect(r.diffID).toBe(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    const a = await fsp.stat(path.join(dest, 'big/a'));
    expect([a.mode & 0o7777, a.uid, a.gid, a.nlink, a.size]).toEqual([
      0o4750,
      1234,
      5678,
      2,
      300 * 1024,
    ]);
    expect(a.mtimeMs).toBe(1_000_000_000_000);
    expect((await fsp.stat(path.join(dest, 'big/a-link'))).ino).toBe(a.ino);
    expect(await fsp.readFile(path.join(dest, 'big/a'), 'utf8')).toBe(big('a'));
    expect(await fsp.readFile(path.join(dest, 'big/b'), 'utf8')).toBe('small b');
    expect((await fsp.stat(path.join(dest, 'big/b'))).nlink).toBe(1);
    expect(await xattrsOf(dest, 'big/c')).toEqual({ 'user.kept': 'yes' });
    expect(await fsp.readFile(path.join(dest, 'big/d'), 'utf8')).toBe(big('D'));
    const d = await fsp.stat(path.join(dest, 'big/d'));
    expect([d.mode & 0o7777, d.nlink]).toEqual([0o600, 1]);
    // Nothing of the staging is left, and the directories keep the times the layer gave them.
    expect((await fsp.readdir(dest)).sort()).toEqual(['big']);
    expect((await fsp.stat(dest)).mtimeMs).toBe(1_500_000_000_000);
    const bigDir = await fsp.stat(path.join(dest, 'big'));
    expect([bigDir.mode & 0o7777, bigDir.mtimeMs]).toEqual([0o711, 1_400_000_000_000]);
  });

  it('accepts gzip and converts whiteouts and opaque directories for overlayfs', async () => {
    const tar = await buildTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.motd' },
      { name: 'var/', type: 'directory', mode: 0o750 },
      { name: 'var/.wh..wh..opq' },
      { name: 'var/new', content: 'n' },
    ]);
    const { dest, result } = await apply(gzipSync(tar));
    const r = await result;
    expect(r.compression).toBe('gzip');
    expect(r.diffID).toBe(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    const wh = await fsp.stat(path.join(dest, 'etc/motd'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(await xattrsOf(dest, 'var')).toEqual({ 'trusted.overlay.opaque': 'y' });
    expect((await fsp.stat(path.join(dest, 'var'))).mode & 0o777).toBe(0o750);
    expect(await fsp.readFile(path.join(dest, 'var/new'), 'utf8')).toBe('n');
  });

  const hostile: Array<[string, TestEntry[]]> = [
    ['../ path', [{ name: '../outside/secret', content: 'pwned' }]],
    ['absolute path', [{ name: `/${'x'}`, content: 'pwned' }]],
    [
      'symlinked parent',
      [
        { name: 'link', type: 'symlink', linkname: '../outside' },
        { name: 'link/secret', content: 'pwned' },
      ],
    ],
    [
      'hard link outside',
      [
        { name: 'h', type: 'link', linkname: '../outside/secret' },
        { name: 'h', content: 'pwned' },
      ],
    ],
    [
      'hard link via symlink',
      [
        { name: 'link', type: 'symlink', linkname: '../outside' },
        { name: 'h', type: 'link', linkname: 'link/secret' },
      ],
    ],
  ];
  it.each(hostile)('refuses %s and leaves the outside untouched', async (_name, entries) => {
    const { root, dest, result } = await apply(
      await buildTar([{ name: 'ok', content: 'fine' }, ...entries]),
    );
    await expect(result).rejects.toMatchObject({ kind: 'invalid-argument' });
    expect(await fsp.readFile(path.join(root, 'outside', 'secret'), 'utf8')).toBe('secret');
    expect(await fsp.readdir(path.join(root, 'outside'))).toEqual(['secret']);
    expect((await fsp.readdir(dest)).filter((f) => f !== 'ok' && f !== 'link')).toEqual([]);
  });

  it('refuses a non-empty destination and garbage input', async () => {
    const { dest, result } = await apply(
      Buffer.from('this is not a tar archive, not at all'.repeat(20)),
    );
    await expect(result).rejects.toMatchObject({ kind: 'invalid-argument' });
    await fsp.writeFile(path.join(dest, 'f'), '');
    await expect(applyLayer(Readable.from([await buildTar([])]), dest)).rejects.toThrow(
      /not empty/,
    );
  });

  it('tarDirectory archives a tree deterministically (names without ./, sorted)', async () => {
    const { dest, result } = await apply(
      await buildTar([
        { name: 'b', content: 'b' },
        { name: 'a/', type: 'directory' },
        { name: 'a/z', content: 'z' },
      ]),
    );
    await result;
    const names: string[] = [];
    for await (const e of readTar(await tarDirectory(dest))) names.push(e.header.name);
    expect(names).toEqual(['a/', 'a/z', 'b']);
  });
});

/** xattrs read back through GNU tar (no getfattr needed). */
async function xattrsOf(dir: string, name: string): Promise<Record<string, string>> {
  for await (const e of readTar(await tarDirectory(dir))) {
    if (e.header.name.replace(/\/$/, '') === name) {
      return Object.fromEntries([...e.header.xattrs].map(([k, v]) => [k, v.toString()]));
    }
  }
  throw new Error(`${name} not in archive`);
}
