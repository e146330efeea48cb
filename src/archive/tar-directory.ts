import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';

import { runCreate } from './gnu-tar.js';

/**
 * A tar stream of the tree under `dir` (entries named relative to it, without "./"), sorted,
 * numeric owners, xattrs, pax format, no atime/ctime: the same tree gives the same bytes.
 * Overlay whiteouts are archived as they are (char 0:0); converting an upper dir back to a
 * layer diff is the snapshotter's job.
 */
export async function tarDirectory(dir: string): Promise<Readable> {
  const names = (await fsp.readdir(dir, { encoding: 'buffer' }))
    .map((n) => n.toString('latin1'))
    .sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  if (names.length === 0) return Readable.from([Buffer.alloc(1024)]); // an empty archive
  return runCreate(dir, names);
}
