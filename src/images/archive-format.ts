/**
 * The image archive formats of `docker save` / `docker load`, as pure functions:
 *
 *   docker-archive  `manifest.json` = [{Config, RepoTags, Layers}] naming files in the tar,
 *                   plus `repositories` (legacy, ignored when loading). Before Docker 25 the
 *                   files were `<config-hex>.json` and `<v1-id>/layer.tar`; since Docker 25
 *                   they are `blobs/sha256/<hex>` inside an OCI layout.
 *   OCI layout      `oci-layout`, `index.json` (descriptors of manifests or indexes, tagged by
 *                   the `io.containerd.image.name` / `org.opencontainers.image.ref.name`
 *                   annotations) and `blobs/<alg>/<hex>`.
 *
 * Wharf writes both at once, as Docker 25+ does, so old and new consumers load its archives.
 */
import { invalidArgument } from '../common/index.js';
import { isDigest, MediaType, type Descriptor, type Digest, type Index } from '../oci/index.js';
import { familiarName, familiarString, parseNormalizedNamed, type Reference } from './reference.js';

export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** One entry of `manifest.json`. */
export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
  LayerSources?: Record<string, Descriptor>;
}

/** Where a blob lives in an OCI layout. */
export function blobPath(digest: Digest): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

/** The digest a `blobs/<alg>/<hex>` path claims, if it is one. */
export function digestOfBlobPath(name: string): Digest | undefined {
  const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

/**
 * A tar entry name made canonical ("./a//b" → "a/b"), or an error for names that leave the
 * archive: absolute paths and `..` components are hostile, not merely odd.
 */
export function cleanArchivePath(name: string): string {
  if (name.startsWith('/')) throw invalidArgument(`invalid archive: absolute path "${name}"`);
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw invalidArgument(`invalid archive: path "${name}" leaves the archive`);
    parts.push(p);
  }
  return parts.join('/');
}

/** Resolve a symlink target found at `from` (archive-relative), confined to the archive. */
export function resolveLink(from: string, target: string): string {
  if (target.startsWith('/')) {
    throw invalidArgument(`invalid archive: link "${from}" points outside the archive`);
  }
  const dir = from.split('/').slice(0, -1);
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (dir.length === 0) {
        throw invalidArgument(`invalid archive: link "${from}" points outside the archive`);
      }
      dir.pop();
    } else dir.push(p);
  }
  return dir.join('/');
}

/** Parse and check `manifest.json`. */
export function parseArchiveManifest(bytes: Buffer): ArchiveManifestEntry[] {
  const data = parseJson(bytes, 'manifest.json');
  if (!Array.isArray(data)) throw invalidArgument('invalid archive: manifest.json is not a list');
  return data.map((e: unknown, i) => {
    const entry = e as Partial<ArchiveManifestEntry> | null;
    const where = `manifest.json entry ${i}`;
    if (!entry || typeof entry !== 'object' || typeof entry.Config !== 'string') {
      throw invalidArgument(`invalid archive: ${where} has no Config`);
    }
    if (!Array.isArray(entry.Layers) || entry.Layers.some((l) => typeof l !== 'string')) {
      throw invalidArgument(`invalid archive: ${where} has no valid Layers`);
    }
    const tags = entry.RepoTags ?? null;
    if (tags !== null && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))) {
      throw invalidArgument(`invalid archive: ${where} has invalid RepoTags`);
    }
    return { Config: entry.Config, RepoTags: tags, Layers: entry.Layers };
  });
}

/** Parse and check `index.json` (or a nested index blob). */
export function parseIndex(bytes: Buffer, what = 'index.json'): Index {
  const data = parseJson(bytes, what) as Partial<Index> | null;
  if (!data || typeof data !== 'object' || !Array.isArray(data.manifests)) {
    throw invalidArgument(`invalid archive: ${what} has no manifests`);
  }
  for (const d of data.manifests) checkDescriptor(d, what);
  return data as Index;
}

export function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  const desc = d as Partial<Descriptor> | null;
  if (
    !desc ||
    typeof desc !== 'object' ||
    typeof desc.mediaType !== 'string' ||
    typeof desc.digest !== 'string' ||
    !isDigest(desc.digest) ||
    typeof desc.size !== 'number' ||
    !Number.isSafeInteger(desc.size) ||
    desc.size < 0
  ) {
    throw invalidArgument(`invalid archive: invalid descriptor in ${what}`);
  }
}

/**
 * The reference an index.json entry names. `io.containerd.image.name` is a full reference
 * (what Docker 25+ and containerd write); `org.opencontainers.image.ref.name` is one only
 * when it has a repository (skopeo's `name:tag`); a bare tag ("latest") names nothing.
 */
export function referenceOfAnnotations(
  annotations: Record<string, string> | undefined,
): Reference | undefined {
  const full = annotations?.[ANNOTATION_IMAGE_NAME];
  const ref = annotations?.[ANNOTATION_REF_NAME];
  const candidate = full ?? (ref && /[:/]/.test(ref) ? ref : undefined);
  if (!candidate) return undefined;
  let parsed: Reference;
  try {
    parsed = parseNormalizedNamed(candidate);
  } catch {
    throw invalidArgument(`invalid archive: invalid image name "${candidate}" in index.json`);
  }
  return parsed.tag !== undefined ? parsed : undefined;
}

/** A RepoTags entry ("busybox:latest") as a tagged reference. */
export function parseRepoTag(tag: string): Reference {
  let ref: Reference;
  try {
    ref = parseNormalizedNamed(tag);
  } catch {
    throw invalidArgument(`invalid archive: invalid tag "${tag}" in manifest.json`);
  }
  if (ref.tag === undefined || ref.digest !== undefined) {
    throw invalidArgument(`invalid archive: invalid tag "${tag}" in manifest.json`);
  }
  return ref;
}

export interface SavedImage {
  configDigest: Digest;
  manifest: Descriptor;
  /** Blob digests of the layers as written in the archive, in order. */
  layers: Digest[];
  tags: Reference[];
}

/** The metadata files of a save: index.json, manifest.json, repositories, oci-layout. */
export function saveMetadata(images: SavedImage[]): Array<{ name: string; data: Buffer }> {
  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: images.flatMap((img) => {
      const desc = {
        mediaType: img.manifest.mediaType,
        digest: img.manifest.digest,
        size: img.manifest.size,
      };
      if (img.tags.length === 0) return [desc];
      return img.tags.map((t) => ({
        ...desc,
        annotations: {
          [ANNOTATION_IMAGE_NAME]: `${t.domain}/${t.path}:${t.tag}`,
          [ANNOTATION_REF_NAME]: t.tag!,
        },
      }));
    }),
  };
  const manifest: ArchiveManifestEntry[] = images.map((img) => ({
    Config: blobPath(img.configDigest),
    RepoTags: img.tags.length > 0 ? img.tags.map(familiarString) : null,
    Layers: img.layers.map(blobPath),
  }));
  // Legacy `repositories`: repository → tag → top layer ID. Loaders that read manifest.json
  // ignore it; it is written because old tools look for it.
  const repositories: Record<string, Record<string, string>> = {};
  for (const img of images) {
    const top = img.layers.at(-1);
    if (top === undefined) continue;
    for (const t of img.tags) {
      const name = familiarName(t);
      (repositories[name] ??= {})[t.tag!] = top.slice('sha256:'.length);
    }
  }
  const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) + '\n');
  const out = [
    { name: 'index.json', data: json(index) },
    { name: 'manifest.json', data: json(manifest) },
    { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
  ];
  if (Object.keys(repositories).length > 0) {
    out.push({ name: 'repositories', data: json(repositories) });
  }
  return out;
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw invalidArgument(`invalid archive: ${what} is not valid JSON`);
  }
}
