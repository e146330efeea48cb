/** Manifests, tags, the catalog and referrers. */
import { MediaType, sha256Digest, type Digest } from '../../oci/index.js';
import { empty, json, readBody, type RequestContext } from './context.js';
import { regErr } from './errors.js';
import { acceptsMediaType, MAX_MANIFEST_BYTES, parseManifest } from './manifest.js';
import { parseDigest, parseManifestRef } from './names.js';
import { nextLink, paginate, parsePageQuery } from './paginate.js';

async function resolve(ctx: RequestContext, repo: string, ref: string) {
  const r = parseManifestRef(ref);
  const digest: Digest | undefined =
    r.kind === 'digest' ? r.digest : await ctx.store.resolveTag(repo, r.tag);
  const info = digest ? await ctx.store.manifestInfo(repo, digest) : undefined;
  if (!info) {
    if (!(await ctx.store.repoExists(repo))) {
      throw regErr('NAME_UNKNOWN', 'repository name not known to registry', { name: repo });
    }
    throw regErr(
      'MANIFEST_UNKNOWN',
      'manifest unknown',
      r.kind === 'tag' ? { tag: r.tag } : { digest },
    );
  }
  return info;
}

export async function getManifest(ctx: RequestContext, repo: string, ref: string): Promise<void> {
  const { req, res, store } = ctx;
  const info = await resolve(ctx, repo, ref);
  if (!acceptsMediaType(req.headers.accept, info.mediaType)) {
    throw regErr(
      'MANIFEST_UNKNOWN',
      `manifest is ${info.mediaType}, which the Accept header does not allow`,
      { mediaType: info.mediaType },
    );
  }
  const headers: Record<string, string> = {
    'Content-Type': info.mediaType,
    'Content-Length': String(info.size),
    'Docker-Content-Digest': info.digest,
    ETag: `"${info.digest}"`,
  };
  if (req.headers['if-none-match'] === `"${info.digest}"`) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  if (req.method === 'HEAD') {
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const bytes = await store.readBlob(info.digest);
  // Manifests are small: check them on every read, so a damaged file is never served.
  if (sha256Digest(bytes) !== info.digest) {
    throw regErr('UNKNOWN', `manifest ${info.digest} is corrupt on disk`, undefined, 500);
  }
  res.writeHead(200, headers);
  res.end(bytes);
}

export async function putManifest(ctx: RequestContext, repo: string, ref: string): Promise<void> {
  const { req, store } = ctx;
  const r = parseManifestRef(ref);
  const bytes = await readBody(req, MAX_MANIFEST_BYTES);
  if (bytes === undefined) {
    throw regErr(
      'MANIFEST_INVALID',
      `manifest larger than ${MAX_MANIFEST_BYTES} bytes`,
      undefined,
      413,
    );
  }
  const parsed = parseManifest(bytes, req.headers['content-type']);
  if (r.kind === 'digest' && sha256Digest(bytes) !== r.digest) {
    throw regErr('DIGEST_INVALID', 'manifest digest does not match the reference', {
      expected: r.digest,
      got: sha256Digest(bytes),
    });
  }
  const digest = await store.putManifest(repo, bytes, parsed, r.kind === 'tag' ? r.tag : undefined);
  const headers: Record<string, string> = {
    Location: `/v2/${repo}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
  };
  if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
  empty(ctx.res, 201, headers);
}

export async function deleteManifest(
  ctx: RequestContext,
  repo: string,
  ref: string,
): Promise<void> {
  const r = parseManifestRef(ref);
  const ok =
    r.kind === 'digest'
      ? await ctx.store.deleteManifest(repo, r.digest)
      : await ctx.store.deleteTag(repo, r.tag);
  if (!ok) throw regErr('MANIFEST_UNKNOWN', 'manifest unknown', { reference: ref });
  empty(ctx.res, 202);
}

export async function listTags(ctx: RequestContext, repo: string): Promise<void> {
  const tags = await ctx.store.listTags(repo);
  if (tags === undefined) {
    throw regErr('NAME_UNKNOWN', 'repository name not known to registry', { name: repo });
  }
  const q = parsePageQuery(ctx.url.searchParams);
  const page = paginate(tags, q);
  const headers: Record<string, string> = {};
  if (page.next !== undefined) headers['Link'] = nextLink(`/v2/${repo}/tags/list`, q.n, page.next);
  json(ctx.res, 200, { name: repo, tags: page.items }, headers);
}

export async function catalog(ctx: RequestContext): Promise<void> {
  const q = parsePageQuery(ctx.url.searchParams);
  const page = paginate(await ctx.store.listRepositories(), q);
  const headers: Record<string, string> = {};
  if (page.next !== undefined) headers['Link'] = nextLink('/v2/_catalog', q.n, page.next);
  json(ctx.res, 200, { repositories: page.items }, headers);
}

export async function referrers(ctx: RequestContext, repo: string, ref: string): Promise<void> {
  const subject = parseDigest(ref);
  const filter = ctx.url.searchParams.get('artifactType');
  let list = await ctx.store.listReferrers(repo, subject);
  const headers: Record<string, string> = {};
  if (filter !== null && filter !== '') {
    list = list.filter((d) => d.artifactType === filter);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  json(
    ctx.res,
    200,
    { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: list },
    headers,
    MediaType.OciIndex,
  );
}
