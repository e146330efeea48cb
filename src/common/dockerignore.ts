/**
 * `.dockerignore` with Docker's rules (docker/cli's dockerignore.ReadAll + moby's
 * patternmatcher): `#` comment lines, patterns cleaned and made relative (a leading `/` is
 * the context root), `*` and `?` within one path segment, `**` across any number of
 * segments (none included), `\` escapes, `!` re-includes. Patterns apply in order and the
 * last one that matches decides; a pattern matching a parent directory matches everything
 * under it.
 */
import path from 'node:path';

export interface IgnorePattern {
  /** The cleaned pattern, without `!`. */
  pattern: string;
  exclusion: boolean;
  regex: RegExp;
}

/** The patterns of a .dockerignore file, in order. */
export function readDockerignore(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    let p = raw.trim();
    if (p === '') continue;
    const invert = p.startsWith('!');
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = path.posix.normalize(p).replace(/\/+$/, '') || '/';
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

const ESCAPE = new Set([...'\\.+()|{}$^']);

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++; // `**/` is `**`
        // `**` at the end matches everything below; elsewhere any number of segments.
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 < pattern.length) {
        const n = pattern[++i]!;
        re += /[A-Za-z0-9]/.test(n) ? n : `\\${n}`;
      } else re += '\\\\';
    } else if (ESCAPE.has(c)) re += `\\${c}`;
    else re += c;
  }
  return new RegExp(`${re}$`, 's');
}

export class DockerIgnore {
  readonly patterns: IgnorePattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns
      .map((p) => {
        const exclusion = p.startsWith('!');
        const pattern = exclusion ? p.slice(1) : p;
        return { pattern, exclusion, regex: compile(pattern) };
      })
      .filter((p) => p.pattern !== '');
  }

  static parse(text: string): DockerIgnore {
    return new DockerIgnore(readDockerignore(text));
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether `rel` (a context-relative path with `/`) is left out of the context. */
  excludes(rel: string): boolean {
    const file = path.posix.normalize(rel).replace(/^\/+|\/+$/g, '');
    const parent = path.posix.dirname(file);
    const parents = parent === '.' ? [] : parent.split('/');
    let matched = false;
    for (const p of this.patterns) {
      // Only an exclusion can change a match, only an inclusion a non-match.
      if (p.exclusion !== matched) continue;
      let hit = p.regex.test(file);
      for (let i = 0; !hit && i < parents.length; i++) {
        hit = p.regex.test(parents.slice(0, i + 1).join('/'));
      }
      if (hit) matched = !p.exclusion;
    }
    return matched;
  }

  /** Whether some `!` pattern could re-include something below directory `rel`. */
  mayIncludeUnder(rel: string): boolean {
    const dir = rel.replace(/\/+$/, '');
    return this.patterns.some(
      (p) => p.exclusion && (p.pattern.startsWith(`${dir}/`) || /[*?[\\]/.test(p.pattern)),
    );
  }
}
