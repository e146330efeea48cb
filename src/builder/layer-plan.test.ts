import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { readTar, type TarHeader } from '../archive/index.js';
import { LayerPlan } from './layer-plan.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
});

/** A lower tree: /etc (0750), /etc/conf (file), /bin -> usr/bin, /usr/bin, /old (file). */
async function lower(): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'layer-plan-'));
  dirs.push(d);
  await fsp.mkdir(path.join(d, 'etc'), { mode: 0o750 });
  await fsp.chmod(path.join(d, 'etc'), 0o750);
  await fsp.writeFile(path.join(d, 'etc/conf'), 'old');
  await fsp.mkdir(path.join(d, 'usr/bin'), { recursive: true });
  await fsp.symlink('usr/bin', path.join(d, 'bin'));
  await fsp.writeFile(path.join(d, 'old'), 'x');
  return d;
}

async function entries(plan: LayerPlan): Promise<Array<Partial<TarHeader> & { body?: string }>> {
  const out: Array<Partial<TarHeader> & { body?: string }> = [];
  for await (const { header, body } of readTar(plan.tar())) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    out.push({
      name: header.name,
      type: header.type,
      mode: header.mode,
      ...(header.type === 'link' ? { linkname: header.linkname } : {}),
      ...(header.type === 'file' && header.size > 0
        ? { body: Buffer.concat(chunks).toString() }
        : {}),
    });
  }
  return out;
}

const meta = { uid: 0, gid: 0, perm: 0o644, mtime: 1_700_000_000 };

describe('LayerPlan', () => {
  it('copies up the directories it writes into, with their own mode', async () => {
    const plan = new LayerPlan(await lower());
    await plan.writeFile('etc/new', Buffer.from('n'), meta);
    expect(await entries(plan)).toEqual([
      { name: 'etc/', type: 'dir', mode: 0o750 },
      { name: 'etc/new', type: 'file', mode: 0o644, body: 'n' },
    ]);
  });

  it('replaces a file without a whiteout; a removed one leaves a whiteout', async () => {
    const plan = new LayerPlan(await lower());
    await plan.remove('etc/conf');
    await plan.writeFile('etc/conf', Buffer.from('new'), meta);
    await plan.remove('old');
    const got = await entries(plan);
    expect(got).toContainEqual({ name: 'etc/conf', type: 'file', mode: 0o644, body: 'new' });
    expect(got).toContainEqual({ name: '.wh.old', type: 'file', mode: 0o600 });
    expect(got.map((e) => e.name)).not.toContain('etc/.wh.conf');
  });

  it('a directory made over a removed entry is opaque; one made over nothing is not', async () => {
    const plan = new LayerPlan(await lower());
    await plan.remove('old');
    await plan.mkdir('old', { ...meta, perm: 0o755 });
    await plan.mkdir('fresh', { ...meta, perm: 0o700 });
    const got = await entries(plan);
    expect(got).toEqual([
      { name: 'fresh/', type: 'dir', mode: 0o700 },
      { name: 'old/', type: 'dir', mode: 0o755 },
      { name: 'old/.wh..wh..opq', type: 'file', mode: 0o755 },
    ]);
    // Nothing of the lower shows below a directory made here.
    await expect(plan.lstat('old/x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers for the merged view and never reads through a lower symlink', async () => {
    const plan = new LayerPlan(await lower());
    expect((await plan.lstat('bin')).kind).toBe('symlink');
    expect((await plan.lstat('usr/bin')).kind).toBe('dir');
    // bin/ls would be usr/bin/ls only by following the link: not a path the lower has.
    await expect(plan.lstat('bin/ls')).rejects.toMatchObject({ code: 'ENOENT' });
    await plan.writeFile('usr/bin/tool', Buffer.from('t'), meta);
    expect((await plan.lstat('usr/bin/tool')).kind).toBe('file');
    expect(plan.empty).toBe(false);
  });

  it('hard links share one entry: the first in the tar carries the content', async () => {
    const plan = new LayerPlan(await lower());
    await plan.mkdir('d', { ...meta, perm: 0o755 });
    await plan.writeFile('d/z', Buffer.from('same'), meta);
    await plan.link('d/z', 'd/a');
    expect(await entries(plan)).toEqual([
      { name: 'd/', type: 'dir', mode: 0o755 },
      { name: 'd/a', type: 'file', mode: 0o644, body: 'same' },
      { name: 'd/z', type: 'link', mode: 0o644, linkname: 'd/a' },
    ]);
  });

  it('copies a parent up once when entries are planned in parallel', async () => {
    const plan = new LayerPlan(await lower());
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => plan.writeFile(`usr/bin/t${i}`, Buffer.from('t'), meta)),
    );
    await plan.setMeta('usr', { perm: 0o700 });
    const got = await entries(plan);
    expect(got.filter((e) => e.type === 'dir')).toEqual([
      { name: 'usr/', type: 'dir', mode: 0o700 },
      { name: 'usr/bin/', type: 'dir', mode: 0o755 },
    ]);
    expect(got.filter((e) => e.type === 'file')).toHaveLength(50);
  });
});
