import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { resolveInRoot } from './confine.js';

describe('resolveInRoot', () => {
  let base: string;
  let root: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'wharf-confine-'));
    root = path.join(base, 'root');
    await mkdir(path.join(root, 'etc'), { recursive: true });
    await mkdir(path.join(root, 'usr/lib'), { recursive: true });
    await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\n');
    await mkdir(path.join(base, 'secret'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const inRoot = (p: string) => path.join(root, p);
  const expectInside = (p: string) => {
    expect(p === root || p.startsWith(root + path.sep)).toBe(true);
  };

  it('joins plain paths, ignoring "." and repeated slashes', async () => {
    expect(await resolveInRoot(root, '/etc/passwd')).toBe(inRoot('etc/passwd'));
    expect(await resolveInRoot(root, 'etc//./passwd')).toBe(inRoot('etc/passwd'));
    expect(await resolveInRoot(root, '/')).toBe(root);
    expect(await resolveInRoot(root, '')).toBe(root);
  });

  it('clamps ".." at the root', async () => {
    expect(await resolveInRoot(root, '/../../etc/passwd')).toBe(inRoot('etc/passwd'));
    expect(await resolveInRoot(root, '/usr/../../../secret')).toBe(inRoot('secret'));
  });

  it('resolves absolute symlinks against the root', async () => {
    await symlink('/etc', inRoot('usr/etc-link'));
    expect(await resolveInRoot(root, '/usr/etc-link/passwd')).toBe(inRoot('etc/passwd'));
    await symlink('/', inRoot('rootlink'));
    expect(await resolveInRoot(root, '/rootlink/etc')).toBe(inRoot('etc'));
  });

  it('confines absolute symlinks to host paths', async () => {
    await symlink(path.join(base, 'secret'), inRoot('escape'));
    const p = await resolveInRoot(root, '/escape/file');
    expect(p).toBe(path.join(root, base, 'secret', 'file'));
    expectInside(p);
  });

  it('resolves relative symlinks with ".." from the link directory', async () => {
    await symlink('../../etc', inRoot('usr/lib/etc-rel'));
    expect(await resolveInRoot(root, '/usr/lib/etc-rel/passwd')).toBe(inRoot('etc/passwd'));
    await symlink('passwd', inRoot('etc/pw'));
    expect(await resolveInRoot(root, '/etc/pw')).toBe(inRoot('etc/passwd'));
  });

  it('never lets relative ".." symlinks climb out', async () => {
    await symlink('../../../../../../secret', inRoot('usr/lib/up'));
    const p = await resolveInRoot(root, '/usr/lib/up/x');
    expect(p).toBe(inRoot('secret/x'));
    expectInside(p);
  });

  it('follows a chain of symlinks, including the last component', async () => {
    await symlink('/b', inRoot('a'));
    await symlink('c', inRoot('b'));
    await symlink('/etc/passwd', inRoot('c'));
    expect(await resolveInRoot(root, '/a')).toBe(inRoot('etc/passwd'));
  });

  it('keeps missing components as given so they can be created', async () => {
    expect(await resolveInRoot(root, '/nope/deeper/file')).toBe(inRoot('nope/deeper/file'));
    expect(await resolveInRoot(root, '/etc/passwd/under-a-file')).toBe(
      inRoot('etc/passwd/under-a-file'),
    );
    await symlink('/missing/target', inRoot('dangling'));
    expect(await resolveInRoot(root, '/dangling/x')).toBe(inRoot('missing/target/x'));
  });

  it('fails with ELOOP on symlink loops', async () => {
    await symlink('/loop2', inRoot('loop1'));
    await symlink('loop1', inRoot('loop2'));
    await expect(resolveInRoot(root, '/loop1/x')).rejects.toMatchObject({ code: 'ELOOP' });
    await symlink('self', inRoot('self'));
    await expect(resolveInRoot(root, '/self')).rejects.toThrow('too many levels of symbolic links');
  });
});
