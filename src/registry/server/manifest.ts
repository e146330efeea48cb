/**
 * Manifest checks on PUT, pure: parse the bytes, settle the media type, check the shape, and
 * list what the manifest references, so the store can check those exist and GC can mark them.
 * The bytes themselves are stored exactly as pushed: their digest is the manifest's identity.
 */
import { isDigest, MediaType, type Digest } from '../../oci/index.js';
import { regErr } from './errors.js';

export const SCHEMA1_TYPES = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

export const IMAGE_MANIFEST_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.DockerManifest,
];
export const INDEX_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES];

/** Layers that live elsewhere (`urls`): a registry need not hold them. */
const NONDISTRIBUTABLE = [
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
];

/** The reference registry's limit on a manifest body. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface RefDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'manifest' | 'index';
  /** Config and layers that must be in the repository (foreign layers left out). */
  blobs: RefDescriptor[];
  /** Child manifests of an index, which must be in the repository. */
  manifests: RefDescriptor[];
  subject?: RefDescriptor;
  /** What the referrers API reports: artifactType, else the config's media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Content types that say nothing about the manifest: go by its own mediaType field. */
function isGenericType(t: string): boolean {
  return t === '' || t === 'application/json' || t === 'application/octet-stream';
}

function descriptor(v: unknown, where: string): RefDescriptor & { urls?: unknown } {
  if (!isObject(v)) throw regErr('MANIFEST_INVALID', `${where}: not a descriptor`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw regErr('MANIFEST_INVALID', `${where}: mediaType missing`);
  }
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw regErr('MANIFEST_INVALID', `${where}: invalid or unsupported digest`, { digest });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw regErr('MANIFEST_INVALID', `${where}: invalid size`, { size });
  }
  return { mediaType, digest, size, urls: v['urls'] };
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw regErr('MANIFEST_INVALID', `${where}: must map strings to strings`);
  }
  return v as Record<string, string>;
}

/** Strip parameters (`; charset=utf-8`) from a Content-Type. */
export function baseMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw regErr('MANIFEST_INVALID', `invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw regErr('MANIFEST_INVALID', 'manifest is not a JSON object');

  const header = baseMediaType(contentType);
  const field = doc['mediaType'];
  if (field !== undefined && typeof field !== 'string') {
    throw regErr('MANIFEST_INVALID', 'mediaType must be a string');
  }
  if (SCHEMA1_TYPES.includes(header) || doc['schemaVersion'] === 1) {
    throw regErr('MANIFEST_INVALID', 'schema 1 manifests are not supported');
  }
  let mediaType: string;
  if (!isGenericType(header)) {
    if (field !== undefined && field !== header) {
      throw regErr('MANIFEST_INVALID', `mediaType ${field} does not match Content-Type ${header}`);
    }
    mediaType = header;
  } else if (field !== undefined) {
    mediaType = field;
  } else {
    // The OCI types make the field optional; tell them apart by shape.
    mediaType = Array.isArray(doc['manifests']) ? MediaType.OciIndex : MediaType.OciManifest;
  }
  if (!MANIFEST_TYPES.includes(mediaType)) {
    throw regErr('MANIFEST_INVALID', `unsupported manifest media type: ${mediaType}`);
  }
  if (doc['schemaVersion'] !== 2) throw regErr('MANIFEST_INVALID', 'schemaVersion must be 2');

  const out: ParsedManifest = {
    mediaType,
    kind: INDEX_TYPES.includes(mediaType) ? 'index' : 'manifest',
    blobs: [],
    manifests: [],
  };
  const artifactType = doc['artifactType'];
  if (artifactType !== undefined) {
    if (typeof artifactType !== 'string') {
      throw regErr('MANIFEST_INVALID', 'artifactType must be a string');
    }
    out.artifactType = artifactType;
  }
  const annotations = stringMap(doc['annotations'], 'annotations');
  if (annotations) out.annotations = annotations;
  if (doc['subject'] !== undefined) {
    const { mediaType: m, digest, size } = descriptor(doc['subject'], 'subject');
    out.subject = { mediaType: m, digest, size };
  }

  if (out.kind === 'index') {
    if (!Array.isArray(doc['manifests'])) throw regErr('MANIFEST_INVALID', 'manifests missing');
    doc['manifests'].forEach((m, i) => {
      const { mediaType: mt, digest, size } = descriptor(m, `manifests[${i}]`);
      out.manifests.push({ mediaType: mt, digest, size });
    });
    return out;
  }
  const config = descriptor(doc['config'], 'config');
  out.blobs.push({ mediaType: config.mediaType, digest: config.digest, size: config.size });
  out.artifactType ??= config.mediaType;
  const layers = doc['layers'];
  if (!Array.isArray(layers)) throw regErr('MANIFEST_INVALID', 'layers missing');
  layers.forEach((l, i) => {
    const d = descriptor(l, `layers[${i}]`);
    if (NONDISTRIBUTABLE.includes(d.mediaType) && Array.isArray(d.urls) && d.urls.length > 0) {
      return;
    }
    out.blobs.push({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  });
  return out;
}

/**
 * Which stored media types an `Accept` header admits. Clients that send no Accept (or a
 * wildcard) get anything; otherwise the reference registry refuses OCI manifests to clients
 * that did not ask for them, rather than hand over something they cannot parse.
 */
export function acceptsMediaType(
  accept: string | string[] | undefined,
  mediaType: string,
): boolean {
  const list = (Array.isArray(accept) ? accept.join(',') : (accept ?? ''))
    .split(',')
    .map((s) => baseMediaType(s))
    .filter((s) => s !== '');
  if (list.length === 0) return true;
  if (list.includes('*/*') || list.includes('application/*')) return true;
  if (list.includes(mediaType)) return true;
  // Docker types were served to every client before negotiation existed; keep doing so.
  return mediaType === MediaType.DockerManifest || mediaType === MediaType.DockerManifestList;
}
