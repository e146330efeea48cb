/**
 * One repository on one registry, with one set of credentials: resolve manifests, stream
 * blobs, and push (blob existence checks, cross-repository mounts, uploads, manifests).
 *
 * Every request goes through `request()`: it adds the Authorization header for the scopes
 * the operation needs, answers a 401 challenge once, and retries transient failures.
 * Endpoints (mirrors, then the registry; https, then http for an insecure registry) are
 * tried in order for pulls; a connection error or a mirror's refusal moves to the next.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

import { invalidArgument, WharfError } from '../../common/index.js';
import { isDigest, MediaType, type Digest } from '../../oci/index.js';
import { Authorizer, type Credentials } from './auth.js';
import { repositoryScope, type Action } from './challenge.js';
import type { Endpoint } from './endpoint.js';
import { blobPath, manifestPath } from './endpoint.js';
import { registryError, unauthorized } from './errors.js';
import {
  isTransientStatus,
  NetworkError,
  readBody,
  retrying,
  retryableOn,
  send,
  type Method,
} from './http.js';
import { chunks, counted, expectStatus, withDigest } from './upload-helpers.js';

/** Everything a pull accepts, best first (docker's Accept list). */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
];

/** Largest manifest we read (the distribution spec suggests registries cap at 4 MiB). */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

export interface FetchedManifest {
  mediaType: string;
  digest: Digest;
  size: number;
  bytes: Buffer;
}

export interface RepositoryOptions {
  /** `library/busybox` */
  name: string;
  /** The registry domain (`127.0.0.1:5000`), for messages. */
  domain: string;
  endpoints: Endpoint[];
  credentials?: Credentials;
  userAgent: string;
  /** Chunk size for chunked uploads; blobs larger than this are PATCHed in pieces. */
  chunkSize?: number;
}

class Transient extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Repository {
  private endpoint: Endpoint;
  private readonly authorizers = new Map<string, Authorizer>();
  private readonly chunkSize: number;

  constructor(private readonly opts: RepositoryOptions) {
    if (opts.endpoints.length === 0) throw invalidArgument(`no endpoint for ${opts.domain}`);
    this.endpoint = opts.endpoints[0]!;
    this.chunkSize = opts.chunkSize ?? 16 * 1024 * 1024;
  }

  get name(): string {
    return this.opts.name;
  }

  private authorizer(ep: Endpoint): Authorizer {
    let a = this.authorizers.get(ep.base);
    if (!a) {
      // Credentials belong to the registry, never to a mirror of it.
      a = new Authorizer(
        ep.mirror ? undefined : this.opts.credentials,
        ep.verifyTls,
        this.opts.userAgent,
      );
      this.authorizers.set(ep.base, a);
    }
    return a;
  }

  /**
   * Send one request to the current endpoint: auth added, a 401 answered once, transient
   * failures retried (when the body can be re-sent). Returns any final response; callers
   * check its status.
   */
  private async request(
    ep: Endpoint,
    method: Method,
    pathOrUrl: string,
    opts: {
      actions: readonly Action[];
      extraScopes?: string[];
      headers?: Record<string, string>;
      body?: Buffer | (() => Readable);
      /** A streamed body cannot be re-sent after it was consumed. */
      once?: boolean;
      signal?: AbortSignal;
    },
  ): Promise<IncomingMessage> {
    const scopes = [repositoryScope(this.opts.name, opts.actions), ...(opts.extraScopes ?? [])];
    const auth = this.authorizer(ep);
    const url = pathOrUrl.startsWith('/') ? ep.base + pathOrUrl : new URL(pathOrUrl, ep.base).href;
    const attempt = async (): Promise<IncomingMessage> => {
      for (let round = 0; ; round++) {
        const headers: Record<string, string> = {
          'User-Agent': this.opts.userAgent,
          ...opts.headers,
        };
        const authz = await auth.header(scopes, opts.signal);
        if (authz) headers['Authorization'] = authz;
        const res = await send({
          method,
          url,
          headers,
          body: opts.body,
          verifyTls: ep.verifyTls,
          signal: opts.signal,
        });
        const status = res.statusCode ?? 0;
        if (status === 401 && round === 0 && !opts.once) {
          if (auth.onUnauthorized(res.headers['www-authenticate'], scopes)) {
            res.resume();
            continue;
          }
        }
        if (status === 401) {
          const err = await registryError(res);
          throw unauthorized(
            auth.hasCredentials || auth.scheme !== 'basic'
              ? err.message
              : `${method[0]}${method.slice(1).toLowerCase()} "${url}": no basic auth credentials`,
          );
        }
        if (isTransientStatus(status) && !opts.once) {
          const err = await registryError(res);
          throw new Transient(status, err.message);
        }
        return res;
      }
    };
    try {
      return await retrying(
        attempt,
        (e) => !opts.once && (e instanceof Transient || retryableOn(ep)(e)),
        { signal: opts.signal },
      );
    } catch (err) {
      if (err instanceof Transient) {
        throw new WharfError('unavailable', `ERR_REGISTRY_${err.status}`, err.message);
      }
      throw err;
    }
  }

  /**
   * Learn the registry's auth challenge with `GET /v2/` (so that streamed uploads carry
   * credentials from their first byte) and check that the credentials are accepted.
   */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.onEndpoints(async (ep) => {
      const auth = this.authorizer(ep);
      const res = await retrying(
        () =>
          send({
            method: 'GET',
            url: `${ep.base}/v2/`,
            headers: { 'User-Agent': this.opts.userAgent },
            verifyTls: ep.verifyTls,
            signal,
          }),
        retryableOn(ep),
        { signal },
      );
      res.resume();
      if (res.statusCode === 401) auth.setChallenge(res.headers['www-authenticate']);
      else if ((res.statusCode ?? 0) >= 400 && res.statusCode !== 404) {
        throw await registryError(res);
      }
    });
  }

  /**
   * Log in: `GET /v2/` with the credentials. Basic is checked on /v2/ itself; for Bearer a
   * token is fetched (with no scope, as docker login does), which checks the password.
   */
  async login(signal?: AbortSignal): Promise<void> {
    await this.ping(signal);
    const ep = this.endpoint;
    const auth = this.authorizer(ep);
    const url = `${ep.base}/v2/`;
    if (auth.scheme === undefined) return; // the registry wants no credentials at all
    const authz = await auth.header([], signal);
    const res = await send({
      method: 'GET',
      url,
      headers: { 'User-Agent': this.opts.userAgent, ...(authz ? { Authorization: authz } : {}) },
      verifyTls: ep.verifyTls,
      signal,
    });
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) {
      res.resume();
      throw unauthorized(
        `login attempt to ${url} failed with status: ${status} ${res.statusMessage ?? ''}`.trim(),
      );
    }
    if (status >= 400 && status !== 404) throw await registryError(res);
    res.resume();
  }

  /** Run `fn` on each endpoint in turn until one succeeds; the last error is thrown. */
  private async onEndpoints<T>(fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    let lastErr: unknown;
    const eps = [this.endpoint, ...this.opts.endpoints.filter((e) => e !== this.endpoint)];
    for (const ep of eps) {
      try {
        const out = await fn(ep);
        this.endpoint = ep;
        return out;
      } catch (err) {
        lastErr = err;
        // Mirrors fall through on anything; the registry itself only on connection errors.
        const next = ep.mirror || err instanceof NetworkError;
        if (!next) throw err;
      }
    }
    throw lastErr;
  }

  /** GET a manifest (or index) by tag or digest, verified against its digest. */
  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    return this.onEndpoints(async (ep) => {
      const res = await this.request(ep, 'GET', manifestPath(this.opts.name, reference), {
        actions: ['pull'],
        headers: { Accept: MANIFEST_ACCEPT.join(', ') },
        signal,
      });
      if ((res.statusCode ?? 0) >= 400) {
        const err = await registryError(res);
        if (res.statusCode === 404) {
          const what = isDigest(reference) ? `@${reference}` : `:${reference}`;
          throw new WharfError(
            'not-found',
            'ERR_MANIFEST_UNKNOWN',
            `manifest for ${this.opts.domain}/${this.opts.name}${what} not found: ${err.message}`,
          );
        }
        throw err;
      }
      const bytes = await readBody(res, MANIFEST_LIMIT);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
      if (isDigest(reference) && digest !== reference) {
        throw invalidArgument(
          `manifest verification failed for digest ${reference} (got ${digest})`,
        );
      }
      let mediaType = String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim();
      try {
        const parsed = JSON.parse(bytes.toString('utf8')) as {
          mediaType?: string;
          manifests?: unknown;
          schemaVersion?: number;
        };
        if (parsed.mediaType) mediaType = parsed.mediaType;
        else if (!MANIFEST_ACCEPT.includes(mediaType as (typeof MANIFEST_ACCEPT)[number])) {
          mediaType = parsed.manifests ? MediaType.OciIndex : MediaType.OciManifest;
        }
        if (parsed.schemaVersion === 1) {
          throw invalidArgument(
            `${this.opts.domain}/${this.opts.name}: Docker Image Format v1 and Docker Image manifest version 2, schema 1 are not supported`,
          );
        }
      } catch (err) {
        if (err instanceof WharfError) throw err;
        throw invalidArgument(
          `invalid manifest from ${this.opts.domain}/${this.opts.name}: not JSON`,
        );
      }
      return { mediaType, digest, size: bytes.length, bytes };
    });
  }

  /**
   * Stream a blob. The response body is returned as is: the caller verifies the digest (the
   * content store does, as it commits). Retries cover failures before the body starts.
   */
  async fetchBlob(
    digest: Digest,
    signal?: AbortSignal,
  ): Promise<{ stream: Readable; size?: number }> {
    return this.onEndpoints(async (ep) => {
      const res = await this.request(ep, 'GET', blobPath(this.opts.name, digest), {
        actions: ['pull'],
        signal,
      });
      if ((res.statusCode ?? 0) >= 400) {
        const err = await registryError(res);
        if (res.statusCode === 404) {
          throw new WharfError('not-found', 'ERR_BLOB_UNKNOWN', `blob ${digest}: ${err.message}`);
        }
        throw err;
      }
      const len = Number(res.headers['content-length']);
      return { stream: res, ...(Number.isFinite(len) ? { size: len } : {}) };
    });
  }

  // --- push -----------------------------------------------------------------------------

  /** Whether the registry has the blob in this repository (HEAD). */
  async hasBlob(digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const res = await this.request(this.endpoint, 'HEAD', blobPath(this.opts.name, digest), {
      actions: ['pull', 'push'],
      signal,
    });
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await registryError(res, `checking blob ${digest}`);
  }

  /**
   * Try a cross-repository mount (`POST uploads/?mount=&from=`). Returns true when mounted;
   * false when the registry opened an upload instead (that upload is cancelled).
   */
  async mountBlob(digest: Digest, from: string, signal?: AbortSignal): Promise<boolean> {
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.request(
      this.endpoint,
      'POST',
      `/v2/${this.opts.name}/blobs/uploads/?${q.toString()}`,
      {
        actions: ['pull', 'push'],
        extraScopes: [repositoryScope(from, ['pull'])],
        signal,
      },
    );
    res.resume();
    if (res.statusCode === 201) return true;
    if (res.statusCode === 202 && res.headers.location) {
      // Not mounted (unknown there, or not allowed): drop the upload session it opened.
      await this.request(this.endpoint, 'DELETE', res.headers.location, {
        actions: ['pull', 'push'],
        signal,
      })
        .then((r) => r.resume())
        .catch(() => undefined);
      return false;
    }
    if ((res.statusCode ?? 0) >= 400) throw await registryError(res, `mounting blob ${digest}`);
    return false;
  }

  /**
   * Upload a blob whose digest and size are known: monolithic (POST, then one PUT with the
   * body) when it fits in one chunk, chunked (PATCH with Content-Range per chunk, then PUT)
   * otherwise. `open(offset)` returns a fresh stream from that offset.
   */
  async uploadBlob(
    digest: Digest,
    size: number,
    open: () => Promise<Readable>,
    onProgress?: (sent: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    let location = await this.startUpload(signal);
    if (size <= this.chunkSize) {
      const src = await open();
      const res = await this.request(this.endpoint, 'PUT', withDigest(location, digest), {
        actions: ['pull', 'push'],
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
        body: () => counted(src, onProgress),
        once: true,
        signal,
      });
      await expectStatus(res, [201], `uploading blob ${digest}`);
      return;
    }
    const src = await open();
    let offset = 0;
    for await (const chunk of chunks(src, this.chunkSize)) {
      const end = offset + chunk.length - 1;
      const res = await this.request(this.endpoint, 'PATCH', location, {
        actions: ['pull', 'push'],
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${offset}-${end}`,
        },
        body: chunk,
        once: true,
        signal,
      });
      await expectStatus(res, [202], `uploading blob ${digest}`);
      location = res.headers.location ?? location;
      offset = end + 1;
      onProgress?.(offset);
    }
    const res = await this.request(this.endpoint, 'PUT', withDigest(location, digest), {
      actions: ['pull', 'push'],
      once: true,
      signal,
    });
    await expectStatus(res, [201], `completing upload of ${digest}`);
  }

  private async startUpload(signal?: AbortSignal): Promise<string> {
    const res = await this.request(this.endpoint, 'POST', `/v2/${this.opts.name}/blobs/uploads/`, {
      actions: ['pull', 'push'],
      signal,
    });
    res.resume();
    if (res.statusCode !== 202 || !res.headers.location) {
      throw await registryError(res, 'starting upload');
    }
    return res.headers.location;
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry reports. */
  async putManifest(
    reference: string,
    mediaType: string,
    bytes: Buffer,
    signal?: AbortSignal,
  ): Promise<Digest> {
    const res = await this.request(this.endpoint, 'PUT', manifestPath(this.opts.name, reference), {
      actions: ['pull', 'push'],
      headers: { 'Content-Type': mediaType },
      body: bytes,
      signal,
    });
    await expectStatus(res, [201, 200], `pushing manifest ${reference}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    const reported = res.headers['docker-content-digest'];
    if (typeof reported === 'string' && reported !== digest) {
      throw invalidArgument(`registry reported digest ${reported} for manifest ${digest}`);
    }
    return digest;
  }

  /** GET /v2/<name>/tags/list (all pages). */
  async listTags(signal?: AbortSignal): Promise<string[]> {
    return this.onEndpoints(async (ep) => {
      const out: string[] = [];
      let next: string | undefined = `/v2/${this.opts.name}/tags/list`;
      for (let page = 0; next && page < 1000; page++) {
        const res = await this.request(ep, 'GET', next, { actions: ['pull'], signal });
        if ((res.statusCode ?? 0) >= 400) throw await registryError(res);
        const body = JSON.parse((await readBody(res)).toString('utf8')) as { tags?: string[] };
        out.push(...(body.tags ?? []));
        const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
        next = link?.[1];
      }
      return out;
    });
  }
}
