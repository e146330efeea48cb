/**
 * Names the distribution spec allows: repository names (`a/b/c`), tags and digests. Every
 * path component that reaches the filesystem passes one of these first, so none can hold
 * `..`, a slash where it should not, or a name starting with `_` (our own directories).
 */
import { isDigest, type Digest } from '../../oci/index.js';
import { regErr } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** The reference registry caps whole names at 255 characters. */
export const MAX_NAME_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function checkRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw regErr('NAME_INVALID', 'invalid repository name', { name });
  }
  return name;
}

export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

/**
 * A digest from a URL or query: DIGEST_INVALID unless it is a well-formed sha256 digest (the
 * only algorithm Wharf computes; others are well formed but unsupported).
 */
export function parseDigest(s: string | null | undefined): Digest {
  if (s === null || s === undefined || s === '') throw regErr('DIGEST_INVALID', 'digest missing');
  if (isDigest(s)) return s;
  if (DIGEST_GRAMMAR.test(s) && !s.startsWith('sha256:')) {
    throw regErr('DIGEST_INVALID', `unsupported digest algorithm: ${s.split(':')[0]}`, {
      digest: s,
    });
  }
  throw regErr('DIGEST_INVALID', 'invalid digest', { digest: s });
}

export type ManifestRef = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/** A manifest reference from `/v2/<name>/manifests/<reference>`: a tag or a digest. */
export function parseManifestRef(ref: string): ManifestRef {
  if (ref.includes(':')) return { kind: 'digest', digest: parseDigest(ref) };
  if (!isTag(ref)) throw regErr('TAG_INVALID', 'invalid tag', { tag: ref });
  return { kind: 'tag', tag: ref };
}

/** Upload session IDs are ours (random hex); anything else is unknown, never a path. */
const UPLOAD_ID_RE = /^[a-f0-9]{32}$/;

export function isUploadId(s: string): boolean {
  return UPLOAD_ID_RE.test(s);
}
