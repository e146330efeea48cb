/**
 * What the Docker comparison suite compares: an image's config (the fields issue #4 names),
 * its history shape, and the filesystem of each layer and of the whole image, read from
 * `docker save` with tar-stream (an implementation independent of Wharf's archive code).
 *
 * Fields ignored, and why:
 * - mtimes of directories, and of files and symlinks made during the build: a RUN stamps
 *   the build's wall clock on what it touches and on the parent directories of what it
 *   writes, and a COPY on the directories it creates or fills, so two builds (even two
 *   Docker builds) never agree. The contexts' files are dated in the past before building,
 *   so an mtime older than the suite's start came from the context (or an ADDed tar) and is
 *   Docker's to keep: those are compared (whole seconds: Docker's tars carry no fractions);
 * - atimes and ctimes, which tar headers do not carry reliably;
 * - a regular file's size is implied by its content digest;
 * - the order of tar entries (a walk order, not part of the filesystem); a hard link is
 *   compared as the set of paths sharing the file, whichever of them the tar names first;
 * - in history, the digest in `COPY file:<digest>` (Docker's tarsum of its copy vs Wharf's
 *   source digest; both only name the content) and the creation times.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import tarStream from 'tar-stream';

import type { CliResult } from '../../harness/daemon.js';

export type Cli = (args: string[], opts?: { env?: NodeJS.ProcessEnv }) => CliResult;

export interface FsEntry {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  /** Regular files: sha256 of the content. */
  sha?: string;
  /** Symlinks: the target. */
  link?: string;
  /** Hard-linked files: every path (in this layer) sharing the file, sorted. */
  links?: string[];
  /** Seconds since the epoch (see above for when it is compared). */
  mtime?: number;
}

export type Layer = Map<string, FsEntry>;

interface RawEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  sha?: string;
}

const norm = (n: string): string => n.replace(/^\.?\/+/, '').replace(/\/+$/, '');

async function readTar(buf: Buffer): Promise<Array<RawEntry & { data: Buffer }>> {
  const out: Array<RawEntry & { data: Buffer }> = [];
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({
          name: h.name,
          type: h.type ?? 'file',
          mode: h.mode ?? 0,
          uid: h.uid ?? 0,
          gid: h.gid ?? 0,
          mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
          ...(h.linkname ? { linkname: h.linkname } : {}),
          data: Buffer.concat(chunks),
        });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf);
  await done;
  return out;
}

/** One layer tar as path → entry (hard links resolved into link groups). */
export async function readLayer(buf: Buffer): Promise<Layer> {
  const raw = await readTar(buf);
  const layer: Layer = new Map();
  const groups = new Map<string, string[]>(); // target → [target, ...links]
  for (const e of raw) {
    const name = norm(e.name);
    if (name === '') continue;
    if (e.type === 'link') {
      const target = norm(e.linkname!);
      const t = layer.get(target);
      if (!t) throw new Error(`hard link ${name} to ${target}, not seen before it`);
      layer.set(name, { ...t });
      const g = groups.get(target) ?? [target];
      g.push(name);
      groups.set(target, g);
      continue;
    }
    layer.set(name, {
      type: e.type,
      mode: (e.mode & 0o7777).toString(8),
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime,
      ...(e.type === 'file' ? { sha: createHash('sha256').update(e.data).digest('hex') } : {}),
      ...(e.type === 'symlink' ? { link: e.linkname ?? '' } : {}),
    });
  }
  for (const g of groups.values()) {
    const links = [...g].sort();
    for (const p of g) layer.set(p, { ...layer.get(p)!, links });
  }
  return layer;
}

/** The layers of `ref` as its engine saves them, bottom first. */
export async function savedLayers(cli: Cli, ref: string, tmp: string): Promise<Layer[]> {
  return (await savedImage(cli, ref, tmp)).layers;
}

/** The layers of `ref`, and the created_by of each (from the config's history). */
export async function savedImage(
  cli: Cli,
  ref: string,
  tmp: string,
): Promise<{ layers: Layer[]; createdBy: string[] }> {
  const file = path.join(
    tmp,
    `save-${createHash('sha1')
      .update(ref + Math.random())
      .digest('hex')}.tar`,
  );
  const r = cli(['save', '-o', file, ref]);
  if (r.code !== 0) throw new Error(`save ${ref}: ${r.stderr}`);
  try {
    const outer = await readTar(await fsp.readFile(file));
    const byName = new Map(outer.map((e) => [norm(e.name), e.data]));
    const manifest = JSON.parse(byName.get('manifest.json')!.toString()) as Array<{
      Config: string;
      Layers: string[];
    }>;
    const config = JSON.parse(byName.get(norm(manifest[0]!.Config))!.toString()) as {
      history?: Array<{ created_by?: string; empty_layer?: boolean }>;
    };
    const createdBy = (config.history ?? [])
      .filter((h) => !h.empty_layer)
      .map((h) => h.created_by ?? '');
    const layers = await Promise.all(
      manifest[0]!.Layers.map((l) => readLayer(byName.get(norm(l))!)),
    );
    return { layers, createdBy };
  } finally {
    await fsp.rm(file, { force: true });
  }
}

/** Layers applied in order (whiteouts and opaque directories honoured): the image's tree. */
export function flatten(layers: Layer[]): Layer {
  const fs: Layer = new Map();
  const removeTree = (p: string, keep?: Layer): void => {
    for (const k of [...fs.keys()])
      if ((k === p || k.startsWith(`${p}/`)) && !keep?.has(k)) fs.delete(k);
  };
  for (const layer of layers) {
    for (const [p, e] of layer) {
      const base = path.posix.basename(p);
      const dir = path.posix.dirname(p);
      if (base === '.wh..wh..opq') {
        for (const k of [...fs.keys()]) if (k.startsWith(`${dir}/`) && !layer.has(k)) fs.delete(k);
      } else if (base.startsWith('.wh.')) {
        removeTree(dir === '.' ? base.slice(4) : `${dir}/${base.slice(4)}`);
      } else {
        const prev = fs.get(p);
        if (prev && prev.type === 'directory' && e.type !== 'directory') removeTree(p);
        fs.set(p, e);
      }
    }
  }
  return fs;
}

/**
 * A map as a sorted plain object (readable diffs in a failed expect); the mtimes of files
 * and symlinks older than `before` (seconds) kept, the others dropped (see above).
 */
export const plain = (m: Layer, before = 0): Record<string, FsEntry> =>
  Object.fromEntries(
    [...m.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([p, { mtime, ...e }]) => [
        p,
        e.type !== 'directory' && mtime !== undefined && mtime < before ? { ...e, mtime } : e,
      ]),
  );

/** Date everything under `dir` at `when` (symlinks themselves included). */
export async function ageTree(dir: string, when: Date): Promise<void> {
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await ageTree(p, when);
    await fsp.lutimes(p, when, when);
  }
}

export const CONFIG_FIELDS = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'ExposedPorts',
  'Volumes',
  'Labels',
  'StopSignal',
  'Healthcheck',
  'Shell',
  'OnBuild',
] as const;

/** The compared config fields of an image (absent → null, as Docker's inspect prints them). */
export function configOf(cli: Cli, ref: string): Record<string, unknown> {
  const r = cli(['image', 'inspect', ref]);
  if (r.code !== 0) throw new Error(`inspect ${ref}: ${r.stderr}`);
  const c = (JSON.parse(r.stdout) as Array<{ Config: Record<string, unknown> }>)[0]!.Config ?? {};
  return Object.fromEntries(CONFIG_FIELDS.map((f) => [f, c[f] ?? null]));
}

/** History lines, newest first: created_by with content digests masked. */
export function historyOf(cli: Cli, ref: string): string[] {
  const r = cli(['history', '--no-trunc', '--format', '{{.CreatedBy}}', ref]);
  if (r.code !== 0) throw new Error(`history ${ref}: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((by) => by.replace(/((?:file|dir|multi):)?[0-9a-f]{64}(?= in )/g, '$1<digest>'));
}
