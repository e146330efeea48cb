/**
 * What a spooled archive holds, checked before anything is written: per image its config
 * (hashed: the image ID), its layer files in order (with the digest and size the archive
 * claims, if it does), the manifest to keep (OCI layouts) and the tags to set. Every error
 * here happens before the first blob is ingested.
 */
import { invalidArgument } from '../common/index.js';
import {
  isDigest,
  MediaType,
  sha256Digest,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Manifest,
} from '../oci/index.js';
import { parsePlatform, selectManifest } from '../registry/client/index.js';
import {
  blobPath,
  checkDescriptor,
  digestOfBlobPath,
  parseArchiveManifest,
  parseIndex,
  parseRepoTag,
  referenceOfAnnotations,
} from './archive-format.js';
import type { SpooledArchive } from './load-spool.js';
import { referenceString, type Reference } from './reference.js';

export interface LayerSource {
  /** Archive name, for messages. */
  name: string;
  /** What the archive says the blob is (OCI layouts, Docker 25 `blobs/sha256/<hex>`). */
  digest?: Digest;
  size?: number;
  mediaType?: string;
}

export interface ImagePlan {
  configDigest: Digest;
  configBytes: Buffer;
  config: ImageConfig;
  layers: LayerSource[];
  /** The manifest as found in an OCI layout (kept byte for byte). */
  manifest?: { desc: Descriptor; bytes: Buffer };
  tags: Reference[];
}

/** Plans for every image of the archive: manifest.json if present, else index.json. */
export async function planLoad(arc: SpooledArchive): Promise<ImagePlan[]> {
  if (arc.has('manifest.json')) return planDockerArchive(arc);
  if (arc.has('index.json')) return planOciLayout(arc);
  throw invalidArgument(
    'invalid archive: no manifest.json or index.json (not an image archive made by docker save or an OCI image layout)',
  );
}

async function planDockerArchive(arc: SpooledArchive): Promise<ImagePlan[]> {
  const entries = parseArchiveManifest(await arc.read('manifest.json'));
  const plans: ImagePlan[] = [];
  for (const e of entries) {
    const configBytes = await arc.read(e.Config);
    const configDigest = sha256Digest(configBytes);
    const claimed = digestOfBlobPath(e.Config) ?? legacyConfigDigest(e.Config);
    if (claimed !== undefined && claimed !== configDigest) {
      throw invalidArgument(
        `invalid archive: ${e.Config} does not match its digest (got ${configDigest})`,
      );
    }
    const layers = e.Layers.map((name): LayerSource => {
      arc.path(name); // present?
      const digest = digestOfBlobPath(name);
      return digest ? { name, digest } : { name };
    });
    const tags = (e.RepoTags ?? []).map(parseRepoTag);
    merge(plans, checkPlan({ configDigest, configBytes, layers, tags }));
  }
  return plans;
}

async function planOciLayout(arc: SpooledArchive): Promise<ImagePlan[]> {
  const index = parseIndex(await arc.read('index.json'));
  const plans: ImagePlan[] = [];
  for (const top of index.manifests) {
    let desc = top;
    if (desc.mediaType === MediaType.OciIndex || desc.mediaType === MediaType.DockerManifestList) {
      const nested = parseIndex(await readBlob(arc, desc), `index ${desc.digest}`);
      desc = selectManifest(nested.manifests, parsePlatform('linux/amd64'));
    }
    if (desc.mediaType !== MediaType.OciManifest && desc.mediaType !== MediaType.DockerManifest) {
      throw invalidArgument(`invalid archive: unsupported manifest media type ${desc.mediaType}`);
    }
    const bytes = await readBlob(arc, desc);
    const manifest = parseManifest(bytes, desc.digest);
    const configBytes = await readBlob(arc, manifest.config);
    const layers = manifest.layers.map((l): LayerSource => {
      const name = blobPath(l.digest);
      arc.path(name);
      return { name, digest: l.digest, size: l.size, mediaType: l.mediaType };
    });
    const ref = referenceOfAnnotations(top.annotations);
    merge(
      plans,
      checkPlan({
        configDigest: manifest.config.digest,
        configBytes,
        layers,
        manifest: {
          desc: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
          bytes,
        },
        tags: ref ? [ref] : [],
      }),
    );
  }
  return plans;
}

/** A blob of an OCI layout, checked against its descriptor. */
async function readBlob(arc: SpooledArchive, desc: Descriptor): Promise<Buffer> {
  const bytes = await arc.read(blobPath(desc.digest));
  if (bytes.length !== desc.size || sha256Digest(bytes) !== desc.digest) {
    throw invalidArgument(`invalid archive: blob ${desc.digest} does not match its digest`);
  }
  return bytes;
}

function parseManifest(bytes: Buffer, digest: Digest): Manifest {
  let m: Partial<Manifest> | null;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Partial<Manifest> | null;
  } catch {
    throw invalidArgument(`invalid archive: manifest ${digest} is not valid JSON`);
  }
  if (!m || typeof m !== 'object' || !Array.isArray(m.layers)) {
    throw invalidArgument(`invalid archive: manifest ${digest} has no layers`);
  }
  checkDescriptor(m.config, `manifest ${digest}`);
  for (const l of m.layers) checkDescriptor(l, `manifest ${digest}`);
  return m as Manifest;
}

function legacyConfigDigest(name: string): Digest | undefined {
  const m = /^([a-f0-9]{64})\.json$/.exec(name);
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

function checkPlan(p: Omit<ImagePlan, 'config'>): ImagePlan {
  let config: ImageConfig;
  try {
    config = JSON.parse(p.configBytes.toString('utf8')) as ImageConfig;
  } catch {
    throw invalidArgument(`invalid archive: image config ${p.configDigest} is not valid JSON`);
  }
  const diffIDs = config?.rootfs?.diff_ids;
  if (!Array.isArray(diffIDs) || diffIDs.some((d) => typeof d !== 'string' || !isDigest(d))) {
    throw invalidArgument(
      `invalid archive: image config ${p.configDigest} has no valid rootfs.diff_ids`,
    );
  }
  // As dockerd: an image for another OS is refused (one for another architecture is kept).
  if (typeof config.os === 'string' && config.os !== '' && config.os !== 'linux') {
    throw invalidArgument(`image operating system "${config.os}" cannot be used on this platform`);
  }
  if (diffIDs.length !== p.layers.length) {
    throw invalidArgument(
      `invalid archive: image ${p.configDigest}: the config lists ${diffIDs.length} layers, the archive ${p.layers.length}`,
    );
  }
  return { ...p, config };
}

/** The same image named twice (one index.json entry per tag): one plan, tags merged. */
function merge(plans: ImagePlan[], p: ImagePlan): void {
  const same = plans.find((x) => x.configDigest === p.configDigest);
  if (!same) {
    plans.push(p);
    return;
  }
  for (const t of p.tags) {
    if (!same.tags.some((x) => referenceString(x) === referenceString(t))) same.tags.push(t);
  }
}
