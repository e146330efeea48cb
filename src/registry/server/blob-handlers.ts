/** Blobs and upload sessions: /v2/<name>/blobs/<digest>, /v2/<name>/blobs/uploads/[<id>]. */
import { constants, promises as fsp, createReadStream } from 'node:fs';
import { finished, pipeline } from 'node:stream/promises';

import { isErrno } from '../../common/index.js';
import type { Digest } from '../../oci/index.js';
import { allows } from './auth.js';
import { empty, type RequestContext } from './context.js';
import { openDirect, sendDirect } from './direct-io.js';
import { regErr } from './errors.js';
import { isRepositoryName, parseDigest } from './names.js';
import { parseContentRange, parseRangeHeader, uploadRangeHeader } from './range.js';
import type { UploadSession } from './uploads.js';

const READ_CHUNK = 1 << 20;
/** Bodies from this size up are read past the page cache (direct-io.ts), as uploads write them. */
const DIRECT_MIN = 1 << 20;

function blobHeaders(digest: Digest): Record<string, string> {
  return {
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
}

export async function getBlob(ctx: RequestContext, repo: string, ref: string): Promise<void> {
  const { req, res, store } = ctx;
  const digest = parseDigest(ref);
  const unknown = (): Error => regErr('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  if ((await store.repoBlobSize(repo, digest)) === undefined) throw unknown();
  // Open before answering: what we stat is what we send, whatever happens to the name.
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(store.blobPath(digest), 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw unknown();
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const headers: Record<string, string> = {
      ...blobHeaders(digest),
      'Content-Type': 'application/octet-stream',
    };
    if (req.headers['if-none-match'] === `"${digest}"`) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const range = parseRangeHeader(req.headers.range, size);
    if (range === 'unsatisfiable') {
      empty(res, 416, { ...headers, 'Content-Range': `bytes */${size}` });
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    headers['Content-Length'] = String(size === 0 ? 0 : end - start + 1);
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    if (
      ctx.directIo &&
      end - start + 1 >= DIRECT_MIN &&
      (await sendDirectly(fh, start, end, res))
    ) {
      return;
    }
    const stream = createReadStream('', {
      fd: fh,
      start,
      end,
      highWaterMark: READ_CHUNK,
      autoClose: false,
    });
    await pipeline(stream, res);
  } finally {
    await fh.close();
  }
}

/** Send the range through a second, O_DIRECT handle on the same file; false if it cannot be. */
async function sendDirectly(
  fh: fsp.FileHandle,
  start: number,
  end: number,
  res: RequestContext['res'],
): Promise<boolean> {
  // Reopening through /proc gives the very file `fh` is, whatever became of its name.
  const direct = await openDirect(`/proc/self/fd/${fh.fd}`, constants.O_RDONLY);
  if (!direct) return false;
  try {
    if (!(await sendDirect(direct, start, end, res))) return false;
  } finally {
    await direct.close();
  }
  res.end();
  await finished(res);
  return true;
}

export async function deleteBlob(ctx: RequestContext, repo: string, ref: string): Promise<void> {
  const digest = parseDigest(ref);
  if (!(await ctx.store.unlinkBlob(repo, digest))) {
    throw regErr('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  }
  empty(ctx.res, 202, { 'Docker-Content-Digest': digest });
}

function uploadHeaders(repo: string, s: UploadSession): Record<string, string> {
  return {
    Location: `/v2/${repo}/blobs/uploads/${s.id}`,
    Range: uploadRangeHeader(s.size),
    'Docker-Upload-UUID': s.id,
  };
}

function created(ctx: RequestContext, repo: string, digest: Digest): void {
  empty(ctx.res, 201, {
    Location: `/v2/${repo}/blobs/${digest}`,
    'Docker-Content-Digest': digest,
  });
}

/** POST /blobs/uploads/: mount, monolithic upload, or a new session. */
export async function startUpload(ctx: RequestContext, repo: string): Promise<void> {
  const { url, store, uploads, req } = ctx;
  const mount = url.searchParams.get('mount');
  if (mount !== null) {
    const digest = parseDigest(mount);
    const from = url.searchParams.get('from');
    // Mount only from a repository the client may pull; without `from`, only when the
    // client may read everything (no per-repository rules), since any repository would do.
    const source =
      from !== null
        ? isRepositoryName(from) &&
          allows(ctx.auth, { type: 'repository', name: from, actions: ['pull'] }) &&
          (await store.repoBlobSize(from, digest)) !== undefined
        : ctx.auth.ok && ctx.auth.granted === 'all' && (await store.blobSize(digest)) !== undefined;
    if (source) {
      await store.linkBlob(repo, digest);
      created(ctx, repo, digest);
      return;
    }
    // Not mountable: the client uploads instead (the spec's fallback).
  }
  const digestParam = url.searchParams.get('digest');
  if (digestParam !== null) {
    const digest = parseDigest(digestParam);
    const s = await uploads.create(repo);
    try {
      await uploads.finish(repo, s.id, digest, req);
    } catch (err) {
      await uploads.cancel(repo, s.id).catch(() => undefined);
      throw err;
    }
    created(ctx, repo, digest);
    return;
  }
  const s = await uploads.create(repo);
  empty(ctx.res, 202, uploadHeaders(repo, s));
}

export async function patchUpload(ctx: RequestContext, repo: string, id: string): Promise<void> {
  const { req } = ctx;
  const cr = req.headers['content-range'];
  const range = cr === undefined ? undefined : parseContentRange(cr);
  const len = req.headers['content-length'];
  if (range && len !== undefined && Number(len) !== range.end - range.start + 1) {
    throw regErr('RANGE_INVALID', 'Content-Length does not match Content-Range', undefined, 416);
  }
  const s = await ctx.uploads.append(repo, id, req, range);
  empty(ctx.res, 202, uploadHeaders(repo, s));
}

export async function putUpload(ctx: RequestContext, repo: string, id: string): Promise<void> {
  const { req, url, uploads } = ctx;
  const digest = parseDigest(url.searchParams.get('digest'));
  const cr = req.headers['content-range'];
  if (cr !== undefined) {
    await uploads.append(repo, id, req, parseContentRange(cr));
    await uploads.finish(repo, id, digest, undefined);
  } else {
    await uploads.finish(repo, id, digest, req);
  }
  created(ctx, repo, digest);
}

export async function uploadStatus(ctx: RequestContext, repo: string, id: string): Promise<void> {
  empty(ctx.res, 204, uploadHeaders(repo, ctx.uploads.get(repo, id)));
}

export async function cancelUpload(ctx: RequestContext, repo: string, id: string): Promise<void> {
  await ctx.uploads.cancel(repo, id);
  empty(ctx.res, 204);
}
