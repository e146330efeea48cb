/**
 * Image references as docker's distribution/reference parses and normalises them: an implied
 * `docker.io/library/` for official images, `latest` as the default tag, optional digest.
 * Error messages are docker's verbatim (clients show them as they are).
 */
import { invalidArgument, type WharfError } from '../common/index.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_MAX = 255;

const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const host = `(?:${domainName}|\\[(?:[a-fA-F0-9:]+)\\])`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePat = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;
const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const TAG_RE = new RegExp(`^${tagPat}$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

/** A normalised reference: `domain/path[:tag][@digest]`. */
export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

const err = (m: string): WharfError => invalidArgument(m);

/** distribution/reference.Parse: the grammar only, no normalisation. */
function parse(s: string): Reference {
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (s === '') throw err('repository name must have at least one component');
    if (REFERENCE_RE.test(s.toLowerCase()))
      throw err('invalid reference format: repository name must be lowercase');
    throw err('invalid reference format');
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_MAX)
    throw err(`repository name must not be more than ${NAME_TOTAL_MAX} characters`);
  if (m[3] !== undefined && !/^sha256:[a-f0-9]{64}$/.test(m[3]) && m[3].startsWith('sha256:')) {
    throw err('invalid digest format');
  }
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  // Parse only ever sees names with a domain here (ParseNormalizedNamed adds it).
  return {
    domain: first,
    path: name.slice(slash + 1),
    ...(m[2] !== undefined ? { tag: m[2] } : {}),
    ...(m[3] !== undefined ? { digest: m[3] } : {}),
  };
}

function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let rest: string;
  const first = name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_PREFIX + rest;
  return [domain, rest];
}

/** reference.ParseNormalizedNamed: "busybox" → docker.io/library/busybox. */
export function parseNormalizedNamed(s: string): Reference {
  if (IDENTIFIER_RE.test(s)) {
    throw err(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, rest] = splitDockerDomain(s);
  const colon = rest.indexOf(':');
  const remoteName = colon === -1 ? rest : rest.slice(0, colon);
  if (remoteName.toLowerCase() !== remoteName) {
    throw err(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  const ref = parse(`${domain}/${rest}`);
  return ref;
}

export type AnyReference = { kind: 'id'; id: string } | { kind: 'named'; ref: Reference };

/** reference.ParseAnyReference: a full 64-hex ID or sha256:<hex> digest, else a name. */
export function parseAnyReference(s: string): AnyReference {
  if (IDENTIFIER_RE.test(s)) return { kind: 'id', id: `sha256:${s}` };
  if (/^sha256:[a-f0-9]{64}$/.test(s)) return { kind: 'id', id: s };
  return { kind: 'named', ref: parseNormalizedNamed(s) };
}

/** Adds the default tag to a reference that has neither tag nor digest. */
export function tagNameOnly(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) throw err('invalid tag format');
  const { digest: _digest, ...rest } = ref;
  return { ...rest, tag };
}

/** `docker.io/library/busybox` */
export function fullName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** `docker.io/library/busybox:latest` (the key stored in repositories.json). */
export function referenceString(ref: Reference): string {
  return `${fullName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `busybox`, `user/app`, `localhost:5000/x`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return fullName(ref);
  const rest = ref.path.startsWith(OFFICIAL_PREFIX)
    ? ref.path.slice(OFFICIAL_PREFIX.length)
    : ref.path;
  return rest.includes('/') ? ref.path : rest;
}

/** `busybox:latest`, as docker prints references. */
export function familiarString(ref: Reference): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/**
 * httputils.RepoTagReference: what `import` / `tag` / `commit` accept as `repo` + `tag`.
 * A tag is always present in the result.
 */
export function repoTagReference(repo: string, tag?: string): Reference {
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== undefined) throw err('cannot import digest reference');
  const out = tag ? withTag(ref, tag) : tagNameOnly(ref);
  if (familiarName(out) === 'sha256') {
    throw err('refusing to create an ambiguous tag using digest algorithm as name');
  }
  return out;
}

/** reference.FamiliarMatch: a path.Match glob against the familiar name or string. */
export function familiarMatch(pattern: string, ref: Reference): boolean {
  const re = globToRegExp(pattern);
  return re.test(familiarString(ref)) || re.test(familiarName(ref));
}

/** Go's path.Match: `*` and `?` never match `/`; `[...]` classes; `\` escapes. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw err(`syntax error in pattern`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
