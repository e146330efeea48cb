/**
 * The build context as the docker CLI sends it: the directory as a tar, sorted, owners 0:0,
 * modes and mtimes kept, symlinks as links, hard links as links, files that .dockerignore
 * excludes left out (except the Dockerfile and .dockerignore themselves: the daemon reads
 * them first and drops them if excluded). A Dockerfile from elsewhere (`-f` outside the
 * context, or `-f -`) is added under a generated name.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { DockerIgnore } from '../../../common/dockerignore.js';
import { END_OF_ARCHIVE, entryHeader, padding, type TarType } from './tar-writer.js';

export interface ContextTar {
  tar: Readable;
  /** The `dockerfile` parameter: its path inside the tar. */
  dockerfile: string;
}

/**
 * Tar `dir` for a build. `dockerfile` is the -f value (relative to the cwd, as docker's) or
 * undefined for `<dir>/Dockerfile`; `dockerfileText` is a Dockerfile read from stdin.
 */
export async function contextTar(
  dir: string,
  dockerfile: string | undefined,
  dockerfileText?: string,
): Promise<ContextTar> {
  const root = path.resolve(dir);
  const st = await fsp.stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`unable to prepare context: path "${dir}" not found`);
  let inside = 'Dockerfile';
  let extra: { name: string; content: string } | undefined;
  if (dockerfileText !== undefined) {
    extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, content: dockerfileText };
    inside = extra.name;
  } else if (dockerfile !== undefined) {
    const abs = path.resolve(dockerfile);
    const rel = path.relative(root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      const content = await fsp.readFile(abs, 'utf8').catch(() => {
        throw new Error(
          `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`,
        );
      });
      extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, content };
      inside = extra.name;
    } else inside = rel.split(path.sep).join('/');
  }
  const ignoreText = await fsp.readFile(path.join(root, '.dockerignore'), 'utf8').catch(() => '');
  const ignore = DockerIgnore.parse(ignoreText);
  const keep = new Set([inside, '.dockerignore']);
  const links = new Map<string, string>();
  const head = (name: string, s: Stats, type: TarType, size = 0, linkname?: string) =>
    entryHeader({
      name,
      type,
      mode: s.mode,
      size,
      mtime: s.mtime,
      ...(linkname ? { linkname } : {}),
    });
  async function* walk(rel: string): AsyncGenerator<Buffer> {
    const names = (await fsp.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, child);
      const s = await fsp.lstat(abs);
      const excluded = !keep.has(child) && ignore.excludes(child);
      if (s.isDirectory()) {
        if (!excluded) yield head(child, s, 'dir');
        if (!excluded || ignore.mayIncludeUnder(child)) yield* walk(child);
        continue;
      }
      if (excluded) continue;
      if (s.isSymbolicLink()) {
        yield head(child, s, 'symlink', 0, await fsp.readlink(abs));
      } else if (s.isFile()) {
        const key = `${s.dev}:${s.ino}`;
        const first = s.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          yield head(child, s, 'link', 0, first);
          continue;
        }
        if (s.nlink > 1) links.set(key, child);
        yield head(child, s, 'file', s.size);
        let sent = 0;
        // Exactly the size in the header, even if the file changes while it is read.
        const body = s.size > 0 ? createReadStream(abs, { end: s.size - 1 }) : [];
        for await (const chunk of body) {
          const b = chunk as Buffer;
          const part = b.subarray(0, Math.max(0, s.size - sent));
          sent += part.length;
          if (part.length) yield part;
        }
        if (sent < s.size) yield Buffer.alloc(s.size - sent);
        yield padding(s.size);
      }
    }
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* walk('');
    if (extra) {
      const body = Buffer.from(extra.content, 'utf8');
      yield entryHeader({
        name: extra.name,
        type: 'file',
        mode: 0o600,
        size: body.length,
        mtime: new Date(),
      });
      yield body;
      yield padding(body.length);
    }
    yield END_OF_ARCHIVE;
  }
  return { tar: Readable.from(all()), dockerfile: inside };
}
