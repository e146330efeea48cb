/**
 * The build context: the tar the client sent, unpacked into a private directory (entries
 * confined to it by archive/applyLayer), with .dockerignore applied. Sources are looked up
 * inside it only: `..` cannot climb out, and a symlink is resolved as if the context were
 * `/`, so one pointing outside the context can never be followed out of it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { applyLayer } from '../archive/index.js';
import { DockerIgnore, invalidArgument, isErrno } from '../common/index.js';
import { resolveInRoot } from '../containers/index.js';

export class BuildContext {
  private constructor(readonly dir: string) {}

  /** Unpack `body` (a tar, maybe gzip-compressed) into `dir` (created, must not exist). */
  static async extract(body: Readable, dir: string): Promise<BuildContext> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await applyLayer(body, dir);
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw invalidArgument(`failed to read the build context: ${(err as Error).message}`, err);
    }
    return new BuildContext(dir);
  }

  async close(): Promise<void> {
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  /** The Dockerfile's text (`name` relative to the context, as the `dockerfile` parameter). */
  async readDockerfile(name: string): Promise<string> {
    const rel = path.posix.normalize(name.replace(/^\/+/, ''));
    try {
      if (rel.startsWith('..')) throw Object.assign(new Error(), { code: 'ENOENT' });
      const p = await resolveInRoot(this.dir, rel);
      const st = await fsp.stat(p);
      if (!st.isFile()) throw Object.assign(new Error(), { code: 'ENOENT' });
      return await fsp.readFile(p, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR'))
        throw invalidArgument(`Cannot locate specified Dockerfile: ${name}`);
      throw err;
    }
  }

  /**
   * Remove what .dockerignore excludes. The docker CLI already left those files out; a
   * client sending a whole directory gets the same result. The Dockerfile and .dockerignore
   * are read before this and removed only if the patterns exclude them (as dockerd).
   */
  async applyDockerignore(): Promise<void> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.dir, '.dockerignore'), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EISDIR')) return;
      throw err;
    }
    const ignore = DockerIgnore.parse(text);
    if (ignore.empty) return;
    const walk = async (rel: string): Promise<void> => {
      const abs = path.join(this.dir, rel);
      for (const ent of await fsp.readdir(abs, { withFileTypes: true })) {
        const child = rel ? `${rel}/${ent.name}` : ent.name;
        if (ignore.excludes(child)) {
          // An excluded directory may still hold files an exception brings back.
          if (ent.isDirectory() && ignore.mayIncludeUnder(child)) {
            await walk(child);
            if ((await fsp.readdir(path.join(this.dir, child))).length === 0)
              await fsp.rmdir(path.join(this.dir, child));
          } else await fsp.rm(path.join(this.dir, child), { recursive: true, force: true });
        } else if (ent.isDirectory()) await walk(child);
      }
    };
    await walk('');
  }
}

/** Whether a COPY source is a glob (filepath.Match syntax). */
export function hasWildcards(p: string): boolean {
  return /[*?[]/.test(p);
}

/** filepath.Match of a whole relative path: `*` and `?` do not cross `/`. */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw invalidArgument(`syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += /[.+()|{}$^\\]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`${re}$`, 's');
}

/**
 * The paths (relative to `root`) a COPY source names: itself, or what its glob matches.
 * `root` is the context or another stage's filesystem. Throws Docker's messages.
 */
export async function matchSources(root: string, src: string, what: string): Promise<string[]> {
  const rel = path.posix.normalize(src.replace(/^\/+/, '') || '.');
  if (rel === '..' || rel.startsWith('../'))
    throw invalidArgument(`Forbidden path outside the build context: ${src} ()`);
  if (!hasWildcards(rel)) {
    try {
      await fsp.lstat(await resolveInRoot(root, rel));
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR'))
        throw invalidArgument(
          `${what} failed: file not found in build context or excluded by .dockerignore: stat ${rel}: file does not exist`,
        );
      throw err;
    }
    return [rel === '.' ? '' : rel];
  }
  const re = globToRegExp(rel);
  const depth = rel.split('/').length;
  const out: string[] = [];
  const walk = async (dirRel: string, level: number): Promise<void> => {
    let ents;
    try {
      ents = await fsp.readdir(path.join(root, dirRel), { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
      throw err;
    }
    for (const ent of ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const child = dirRel ? `${dirRel}/${ent.name}` : ent.name;
      if (level === depth) {
        if (re.test(child)) out.push(child);
      } else if (ent.isDirectory()) await walk(child, level + 1);
    }
  };
  await walk('', 1);
  if (out.length === 0) throw invalidArgument(`${what} failed: no source files were specified`);
  return out;
}
