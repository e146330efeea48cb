import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import {
  encodeHeader,
  END_OF_ARCHIVE,
  padding,
  readTar,
  type TarHeader,
} from '../archive/index.js';
import { dropMountStubs, stubDirs } from './mount-stubs.js';

const header = (name: string, type: 'dir' | 'file', size = 0): TarHeader => ({
  name,
  type,
  mode: type === 'dir' ? 0o755 : 0o644,
  uid: 0,
  gid: 0,
  size,
  mtime: '0',
  linkname: '',
  devmajor: 0,
  devminor: 0,
  xattrs: new Map(),
});

function tarOf(entries: Array<[string, 'dir' | 'file', string?]>): Readable {
  const chunks: Buffer[] = [];
  for (const [name, type, body] of entries) {
    const data = Buffer.from(body ?? '');
    chunks.push(encodeHeader(header(name, type, data.length)));
    if (type === 'file') chunks.push(data, padding(data.length));
  }
  chunks.push(END_OF_ARCHIVE);
  return Readable.from([Buffer.concat(chunks)]);
}

async function names(r: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const { header: h, body } of readTar(r)) {
    let text = '';
    for await (const c of body) text += c.toString();
    out.push(text ? `${h.name}=${text}` : h.name);
  }
  return out;
}

describe('mount stubs', () => {
  it('lists the ancestors of the mount targets', () => {
    expect([...stubDirs(['/run/secrets/tok', '/etc/app/key'])].sort()).toEqual([
      'etc',
      'etc/app',
      'run',
      'run/secrets',
    ]);
  });

  it('drops stub directories with nothing else below them, keeps those with', async () => {
    const tar = tarOf([
      ['etc/', 'dir'],
      ['etc/app/', 'dir'],
      ['etc/app/other', 'file', 'x'],
      ['run/', 'dir'],
      ['run/secrets/', 'dir'],
      ['runner', 'file', 'r'],
      ['tmp/', 'dir'],
    ]);
    const dirs = stubDirs(['/run/secrets/tok', '/etc/app/key']);
    expect(await names(dropMountStubs(tar, dirs))).toEqual([
      'etc/',
      'etc/app/',
      'etc/app/other=x',
      'runner=r',
      'tmp/',
    ]);
  });
});
