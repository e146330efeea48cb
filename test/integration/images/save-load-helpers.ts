/**
 * Helpers for the save/load tests: read an archive with tar-stream (an implementation
 * independent of ours), write one (hostile ones included), and snapshot what a daemon holds
 * so a failed load can be shown to leave nothing behind.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';

import tarStream from 'tar-stream';
import { expect } from 'vitest';

import type { CliResult, DaemonHandle } from '../../harness/daemon.js';

export function ok(r: CliResult): string {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

export const sha256 = (b: Buffer | string): string =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Every regular file of a tar, by name (symlinks as `{ link }`). */
export async function readArchive(tar: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (h.type === 'file') out.set(h.name.replace(/^\.\//, ''), Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(tar);
  await done;
  return out;
}

export interface Entry {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

/** Write a tar from entries, as an attacker (or another tool) would. */
export async function writeArchive(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        {
          name: e.name,
          type,
          mode: type === 'directory' ? 0o755 : 0o644,
          ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        },
        type === 'file' ? Buffer.from(e.data ?? '') : '',
        (err?: Error | null) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A JSON file entry. */
export const json = (name: string, v: unknown): Entry => ({ name, data: JSON.stringify(v) });

/**
 * What a daemon holds on disk: image IDs, content blobs and unpacked layers. A failed load
 * must leave all three as they were.
 */
export function storeState(d: DaemonHandle): {
  images: string;
  blobs: string[];
  layers: string[];
  spool: string[];
} {
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  const images = ok(d.cli(['images', '-a', '-q', '--no-trunc']))
    .split('\n')
    .sort()
    .join('\n');
  return {
    images,
    blobs: list(path.join(d.dataRoot, 'content', 'blobs', 'sha256')),
    layers: list(path.join(d.dataRoot, 'overlay')).filter((n) => /^[a-f0-9]{64}$/.test(n)),
    // Archives being loaded are spooled here; nothing may remain once a load has ended.
    spool: list(path.join(d.dataRoot, 'image', 'load-tmp')),
  };
}
