/**
 * The build context: the tar the client sent, read into an index (context-index.ts) with
 * .dockerignore applied. Nothing is unpacked up front: COPY/ADD read their sources from the
 * index (their cache keys need no disk), and a directory is written only when a RUN bind
 * mounts the context. Sources are looked up inside the context only: `..` cannot climb out,
 * and a symlink is resolved as if the context were `/`, so one pointing outside the context
 * can never be followed out of it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { DockerIgnore, invalidArgument, isErrno } from '../common/index.js';
import { ContextIndex } from './context-index.js';
import { resolveInTree, statInTree, type SourceTree } from './source-tree.js';

export class BuildContext {
  private materialized: Promise<string> | undefined;

  private constructor(
    readonly index: ContextIndex,
    private readonly dirPath: string,
  ) {}

  /**
   * Read `body` (a tar, maybe gzip-compressed). `dir` (must not exist) is where the context
   * is written if a step needs it on disk; bytes too big to keep in memory go beside it.
   */
  static async extract(body: Readable, dir: string): Promise<BuildContext> {
    await fsp.mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
    let index: ContextIndex;
    try {
      index = await ContextIndex.read(body, `${dir}.spill`);
    } catch (err) {
      throw invalidArgument(`failed to read the build context: ${(err as Error).message}`, err);
    }
    return new BuildContext(index, dir);
  }

  get tree(): SourceTree {
    return this.index;
  }

  /** The context as a directory (written on first use, for RUN --mount=type=bind). */
  dir(): Promise<string> {
    this.materialized ??= this.index.materialize(this.dirPath).then(() => this.dirPath);
    return this.materialized;
  }

  async close(): Promise<void> {
    await this.index.close();
    if (this.materialized) {
      await this.materialized.catch(() => undefined);
      await fsp.rm(this.dirPath, { recursive: true, force: true });
    }
  }

  /** The Dockerfile's text (`name` relative to the context, as the `dockerfile` parameter). */
  async readDockerfile(name: string): Promise<string> {
    const rel = path.posix.normalize(name.replace(/^\/+/, ''));
    try {
      if (rel.startsWith('..')) throw Object.assign(new Error(), { code: 'ENOENT' });
      const at = await resolveInTree(this.index, rel);
      if ((await this.index.lstat(at)).kind !== 'file')
        throw Object.assign(new Error(), { code: 'ENOENT' });
      return await this.index.text(at);
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
    let node;
    try {
      node = await this.index.lstat('.dockerignore');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
      throw err;
    }
    // A symlink named .dockerignore was followed by readFile (inside the context, here).
    if (node.kind === 'symlink') {
      try {
        node = await statInTree(this.index, '.dockerignore');
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
        throw err;
      }
    }
    if (node.kind !== 'file') return;
    const ignore = DockerIgnore.parse(
      await this.index.text(await resolveInTree(this.index, '.dockerignore')),
    );
    if (ignore.empty) return;
    this.index.applyIgnore(ignore);
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
 * The paths (relative to the tree's root) a COPY source names: itself, or what its glob
 * matches. The tree is the context or another stage's filesystem. Throws Docker's messages.
 */
export async function matchSources(tree: SourceTree, src: string, what: string): Promise<string[]> {
  const rel = path.posix.normalize(src.replace(/^\/+/, '') || '.');
  if (rel === '..' || rel.startsWith('../'))
    throw invalidArgument(`Forbidden path outside the build context: ${src} ()`);
  if (!hasWildcards(rel)) {
    try {
      await tree.lstat(await resolveInTree(tree, rel));
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
    let names;
    try {
      names = await tree.readdir(dirRel);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
      throw err;
    }
    for (const name of names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const child = dirRel ? `${dirRel}/${name}` : name;
      if (level === depth) {
        if (re.test(child)) out.push(child);
      } else if ((await tree.lstat(child)).kind === 'dir') await walk(child, level + 1);
    }
  };
  await walk('', 1);
  if (out.length === 0) throw invalidArgument(`${what} failed: no source files were specified`);
  return out;
}
