import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { buildTar, type TestEntry } from '../archive/test-tar.js';
import { DockerIgnore } from '../common/index.js';
import { ContextIndex } from './context-index.js';
import { hashSources } from './copy-step.js';
import { DiskTree, resolveInTree, statInTree } from './source-tree.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'ctx-index-'));
  dirs.push(d);
  return d;
}

async function indexOf(entries: TestEntry[]): Promise<ContextIndex> {
  const tar = await buildTar(entries);
  return ContextIndex.read(Readable.from([tar]), path.join(await scratch(), 'spill'));
}

async function text(s: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

const APP: TestEntry[] = [
  { name: 'Dockerfile', content: 'FROM scratch\n' },
  { name: 'src/', type: 'directory', mode: 0o750, uid: 1000, gid: 100 },
  { name: 'src/a.js', content: 'a', mode: 0o4755 },
  { name: 'src/b.js', type: 'link', linkname: 'src/a.js' },
  { name: 'src/up', type: 'symlink', linkname: '../../../etc' },
  { name: 'deep/x/y.txt', content: 'y' },
];

describe('ContextIndex', () => {
  it('indexes entries with their metadata; implicit parents as GNU tar makes them', async () => {
    const idx = await indexOf(APP);
    const src = await idx.lstat('src');
    expect(src).toMatchObject({ kind: 'dir', mode: 0o40750, uid: 1000, gid: 100 });
    expect(await idx.lstat('src/a.js')).toMatchObject({ kind: 'file', mode: 0o104755, nlink: 2 });
    expect((await idx.lstat('src/b.js')).id).toBe((await idx.lstat('src/a.js')).id);
    expect(await idx.lstat('src/up')).toMatchObject({ kind: 'symlink', mode: 0o120777 });
    expect(await idx.lstat('deep/x')).toMatchObject({ kind: 'dir', mode: 0o40755, uid: 0 });
    expect((await idx.readdir('')).sort()).toEqual(['Dockerfile', 'deep', 'src']);
    expect(await text(idx.read('deep/x/y.txt'))).toBe('y');
    expect(idx.contentDigest('src/a.js')).toEqual(createHash('sha256').update('a').digest());
    await expect(idx.lstat('nope/x')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(idx.lstat('Dockerfile/x')).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('resolves symlinks as if the context were /: never out of it', async () => {
    const idx = await indexOf([
      ...APP,
      { name: 'abs', type: 'symlink', linkname: '/deep/x' },
      { name: 'loop', type: 'symlink', linkname: 'loop' },
    ]);
    expect(await resolveInTree(idx, 'src/up/passwd')).toBe('etc/passwd');
    expect(await resolveInTree(idx, 'abs/y.txt')).toBe('deep/x/y.txt');
    expect((await statInTree(idx, 'abs')).kind).toBe('dir');
    await expect(resolveInTree(idx, 'loop')).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('refuses entries that climb out, hard links to nothing, paths through files', async () => {
    await expect(indexOf([{ name: '../x', content: 'x' }])).rejects.toThrow(/\.\./);
    await expect(indexOf([{ name: 'l', type: 'link', linkname: 'missing' }])).rejects.toThrow(
      /hard link/,
    );
    await expect(
      indexOf([
        { name: 'f', content: 'x' },
        { name: 'f/g', content: 'y' },
      ]),
    ).rejects.toThrow(/not a directory/);
    await expect(
      ContextIndex.read(Readable.from([Buffer.alloc(0)]), path.join(await scratch(), 's')),
    ).rejects.toThrow(/unexpected EOF/);
  });

  it('spills files too big to keep in memory, and reads them back', async () => {
    const big = 'z'.repeat(300 << 10);
    const idx = await indexOf([
      { name: 'big.bin', content: big },
      { name: 'small', content: 's' },
    ]);
    expect(idx.spilled).toBe(big.length);
    expect(await text(idx.read('big.bin'))).toBe(big);
    if (process.getuid?.() === 0) {
      const out = path.join(await scratch(), 'ctx');
      await idx.materialize(out);
      expect((await fsp.readFile(path.join(out, 'big.bin'))).toString()).toBe(big);
      expect((await fsp.stat(path.join(out, 'big.bin'))).mode & 0o7777).toBe(0o644);
    }
    await idx.close();
  });

  it('applies .dockerignore as dockerd walks a directory (exceptions under excluded dirs)', async () => {
    const idx = await indexOf([
      { name: 'keep.txt', content: 'k' },
      { name: 'logs/a.log', content: 'a' },
      { name: 'logs/keep.log', content: 'k' },
      { name: 'tmp/x', content: 'x' },
      { name: 'tmp/sub/y', content: 'y' },
    ]);
    idx.applyIgnore(new DockerIgnore(['logs', '!logs/keep.log', 'tmp']));
    expect((await idx.readdir('')).sort()).toEqual(['keep.txt', 'logs']);
    expect(await idx.readdir('logs')).toEqual(['keep.log']);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'materialises the same tree: the source digest is the same from the index and from disk',
    async () => {
      const idx = await indexOf(APP);
      const dir = path.join(await scratch(), 'ctx');
      await idx.materialize(dir);
      const a = await fsp.stat(path.join(dir, 'src/a.js'));
      const b = await fsp.stat(path.join(dir, 'src/b.js'));
      expect(a.ino).toBe(b.ino);
      expect(a.mode & 0o7777).toBe(0o4755);
      expect(await fsp.readlink(path.join(dir, 'src/up'))).toBe('../../../etc');
      const rels = ['', 'src', 'src/a.js', 'deep/x'];
      for (const r of rels)
        expect(await hashSources(new DiskTree(dir), [r])).toBe(await hashSources(idx, [r]));
      // Contents and modes count, mtimes do not.
      await fsp.writeFile(path.join(dir, 'deep/x/y.txt'), 'changed');
      expect(await hashSources(new DiskTree(dir), ['deep'])).not.toBe(
        await hashSources(idx, ['deep']),
      );
      await fsp.utimes(path.join(dir, 'src/a.js'), 5, 5);
      expect(await hashSources(new DiskTree(dir), ['src'])).toBe(await hashSources(idx, ['src']));
      await fsp.chmod(path.join(dir, 'src/a.js'), 0o755);
      expect(await hashSources(new DiskTree(dir), ['src'])).not.toBe(
        await hashSources(idx, ['src']),
      );
    },
  );
});
