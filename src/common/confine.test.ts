import { describe, expect, it } from 'vitest';

import { resolveConfined } from './confine.js';

/** A tree given as its symlinks (rel path -> target); everything else is a plain entry. */
const tree = (links: Record<string, string>) => async (rel: string) => links[rel];

describe('resolveConfined', () => {
  const links = tree({
    'etc/alt': '/usr/etc',
    'usr/etc/up': '../../..',
    bin: 'usr/bin',
    'usr/bin/sh': 'busybox',
    'loop/a': 'b',
    'loop/b': 'a',
  });

  it.each([
    ['/etc/passwd', 'etc/passwd'],
    ['etc/alt/hosts', 'usr/etc/hosts'],
    ['/bin/sh', 'usr/bin/busybox'],
    ['/../../etc', 'etc'],
    ['etc/alt/up/x', 'x'],
    ['/missing/dir/file', 'missing/dir/file'],
    ['.', ''],
  ])('%s -> %s, never above the root', async (p, want) => {
    expect((await resolveConfined(p, links)).join('/')).toBe(want);
  });

  it('stops a symlink loop with ELOOP', async () => {
    await expect(resolveConfined('loop/a', links)).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('treats ENOENT and ENOTDIR from the tree as plain components, and passes other errors', async () => {
    const enoent = Object.assign(new Error('x'), { code: 'ENOENT' });
    expect(
      await resolveConfined('a/b', async () => {
        throw enoent;
      }),
    ).toEqual(['a', 'b']);
    const eacces = Object.assign(new Error('denied'), { code: 'EACCES' });
    await expect(
      resolveConfined('a', async () => {
        throw eacces;
      }),
    ).rejects.toBe(eacces);
  });
});
