import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { cleanEntryPath, LayerSanitizer } from './layer-sanitizer.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from './tar-format.js';
import { readTar } from './tar-reader.js';
import { buildTar, type TestEntry } from './test-tar.js';

function h(name: string, over: Partial<TarHeader> = {}): TarHeader {
  return {
    name,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: '0',
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...over,
  };
}

async function sanitizeAll(entries: TestEntry[]): Promise<TarHeader[]> {
  const s = new LayerSanitizer();
  const out: TarHeader[] = [];
  for await (const { header } of readTar(Readable.from([await buildTar(entries)])))
    out.push(...s.process(header));
  return out;
}

describe('cleanEntryPath', () => {
  it.each([
    ['a', 'a'],
    ['./a/b/', 'a/b'],
    ['a//b/./c', 'a/b/c'],
    ['./', '.'],
    ['.', '.'],
  ])('%s → %s', (raw, clean) => expect(cleanEntryPath(raw)).toBe(clean));

  it.each(['../etc/passwd', 'a/../../b', 'a/..', '/etc/passwd', '//x', 'a\0b'])(
    'rejects %j',
    (raw) => {
      expect(() => cleanEntryPath(raw)).toThrow(/invalid layer/);
    },
  );
});

describe('LayerSanitizer: hostile tars', () => {
  const cases: Array<[string, TestEntry[], RegExp]> = [
    ['dot-dot path', [{ name: '../evil', content: 'x' }], /contains "\.\."/],
    ['nested dot-dot', [{ name: 'a/../../evil', content: 'x' }], /contains "\.\."/],
    ['absolute path', [{ name: '/etc/evil', content: 'x' }], /absolute path/],
    [
      'write through symlinked dir',
      [
        { name: 'a', type: 'symlink', linkname: '/etc' },
        { name: 'a/passwd', content: 'x' },
      ],
      /symlinked parent directory \("a"\)/,
    ],
    [
      'write through relative symlink',
      [
        { name: 'd', type: 'directory' },
        { name: 'd/up', type: 'symlink', linkname: '../..' },
        { name: 'd/up/evil', content: 'x' },
      ],
      /symlinked parent directory/,
    ],
    [
      'hard link to outside',
      [{ name: 'h', type: 'link', linkname: '../../etc/shadow' }],
      /hard link target .* contains "\.\."/,
    ],
    [
      'hard link to absolute',
      [{ name: 'h', type: 'link', linkname: '/etc/shadow' }],
      /absolute hard link target/,
    ],
    [
      'hard link to a file not in the layer',
      [{ name: 'h', type: 'link', linkname: 'etc/shadow' }],
      /points outside the layer/,
    ],
    [
      'hard link through a symlink',
      [
        { name: 's', type: 'symlink', linkname: '/etc' },
        { name: 'h', type: 'link', linkname: 's/shadow' },
      ],
      /symlinked parent directory/,
    ],
    [
      'directory replacing a symlink',
      [
        { name: 's', type: 'symlink', linkname: '/etc' },
        { name: 's', type: 'directory', mode: 0o777 },
      ],
      /replaces a symlink/,
    ],
    [
      'whiteout through a symlink',
      [
        { name: 's', type: 'symlink', linkname: '/etc' },
        { name: 's/.wh.passwd', content: '' },
      ],
      /symlinked parent directory/,
    ],
    ['whiteout of ..', [{ name: 'a/.wh...', content: '' }], /bad whiteout/],
    [
      'pax path escape',
      [{ name: 'innocent', content: 'x', pax: { path: '../../evil' } }],
      /contains "\.\."/,
    ],
    [
      'file below a file',
      [
        { name: 'f', content: 'x' },
        { name: 'f/g', content: 'y' },
      ],
      /not a directory/,
    ],
  ];
  it.each(cases)('%s', async (_name, entries, re) => {
    await expect(sanitizeAll(entries)).rejects.toThrow(re);
  });

  it('rejects sparse files and unknown entry types', async () => {
    await expect(
      sanitizeAll([{ name: 'sp', content: 'x', pax: { 'GNU.sparse.major': '1' } }]),
    ).rejects.toThrow(/sparse/);
  });
});

describe('LayerSanitizer: conversions', () => {
  it('turns .wh.<name> into a 0:0 char device and keeps ownership', async () => {
    const out = await sanitizeAll([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.motd', uid: 7, gid: 8 },
    ]);
    expect(out[1]).toMatchObject({
      name: 'etc/motd',
      type: 'char',
      devmajor: 0,
      devminor: 0,
      uid: 7,
      gid: 8,
    });
  });

  it('turns .wh..wh..opq into the opaque xattr on its directory, re-emitted with its attributes', async () => {
    const out = await sanitizeAll([
      { name: 'var/', type: 'directory', mode: 0o750, uid: 5 },
      { name: 'var/.wh..wh..opq' },
      { name: 'var/x', content: 'x' },
    ]);
    expect(out[1]).toMatchObject({ name: 'var', type: 'dir', mode: 0o750, uid: 5 });
    expect(out[1]!.xattrs.get('trusted.overlay.opaque')?.toString()).toBe('y');
    expect(out).toHaveLength(3);
  });

  it('skips other aufs metadata and drops trusted.overlay.* xattrs from the input', () => {
    const s = new LayerSanitizer();
    expect(s.process(h('.wh..wh.plnk/1234'))).toEqual([]);
    expect(s.process(h('.wh..wh.aufs'))).toEqual([]);
    const xattrs = new Map([
      ['trusted.overlay.redirect', Buffer.from('/etc')],
      ['security.capability', Buffer.from([1, 0, 0, 2])],
    ]);
    const [out] = s.process(h('bin/ping', { xattrs }));
    expect([...out!.xattrs.keys()]).toEqual(['security.capability']);
    expect(s.droppedXattrs).toBe(1);
  });

  it('allows hard links to earlier entries, and absolute symlink targets (never followed)', () => {
    const s = new LayerSanitizer();
    s.process(h('bin/busybox', { size: 3 }));
    expect(s.process(h('bin/sh', { type: 'symlink', linkname: '/bin/busybox' }))).toHaveLength(1);
    const [link] = s.process(h('./bin/ash', { type: 'link', linkname: './bin/busybox' }));
    expect(link).toMatchObject({ name: 'bin/ash', linkname: 'bin/busybox', size: 0 });
    // a hard link to a symlink is a symlink: nothing may be written below it
    s.process(h('l', { type: 'link', linkname: 'bin/sh' }));
    expect(() => s.process(h('l/x'))).toThrow(/symlinked parent/);
  });
});

describe('tar format', () => {
  it('round-trips long names, binary xattrs, large ids and fractional mtimes', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
    const header = h(long, {
      size: 5,
      uid: 100_000_000,
      gid: 3,
      mtime: '1700000000.25',
      xattrs: new Map([['security.capability', Buffer.from([0, 0xff, 0x80, 0x0a])]]),
    });
    const data = Buffer.concat([
      encodeHeader(header),
      Buffer.from('hello'),
      padding(5),
      END_OF_ARCHIVE,
    ]);
    const seen: TarHeader[] = [];
    for await (const e of readTar(Readable.from([data]))) {
      seen.push(e.header);
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c);
      expect(Buffer.concat(chunks).toString()).toBe('hello');
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      name: long,
      uid: 100_000_000,
      mtime: '1700000000.25',
      size: 5,
    });
    expect(seen[0]!.xattrs.get('security.capability')).toEqual(Buffer.from([0, 0xff, 0x80, 0x0a]));
  });

  it('rejects a corrupt header and a truncated archive', async () => {
    const good = await buildTar([{ name: 'a', content: 'hello' }]);
    const bad = Buffer.from(good);
    bad[0] = 0x41;
    const drain = async (b: Buffer) => {
      for await (const e of readTar(Readable.from([b]))) for await (const _ of e.body);
    };
    await expect(drain(bad)).rejects.toThrow(/checksum/);
    await expect(drain(good.subarray(0, 600))).rejects.toThrow(/unexpected EOF/);
  });
});
