/**
 * HTTP for the registry client, on node:http/https (node's fetch cannot skip certificate
 * checks per request, which insecure registries need). Redirects are followed for GET/HEAD
 * (blob downloads are often redirected to storage), dropping credentials when the host
 * changes. Transient failures — connection errors, 429, 5xx — are retried with backoff.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: Method;
  url: string;
  headers?: Record<string, string>;
  /** A buffer, or a factory of a fresh stream (called again on a retry). */
  body?: Buffer | (() => Readable);
  verifyTls: boolean;
  signal?: AbortSignal;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false }),
};

/** Idle time after which a request is abandoned (and retried when it may be). */
const SOCKET_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;

/** An error of the connection itself (no HTTP status): worth retrying. */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    opts?: { cause?: unknown; tlsHandshake?: boolean },
  ) {
    super(message, opts);
    this.name = 'NetworkError';
    this.tlsHandshake = opts?.tlsHandshake ?? false;
  }

  /** The connection failed before TLS was established (https to a plain-http server?). */
  readonly tlsHandshake: boolean;
}

/** One request (redirects followed); resolves at the response's headers, whatever the status. */
export async function send(req: HttpRequest): Promise<IncomingMessage> {
  let url = new URL(req.url);
  let headers = { ...req.headers };
  for (let hops = 0; ; hops++) {
    const res = await sendOnce({ ...req, url: url.href, headers });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (
      (req.method === 'GET' || req.method === 'HEAD') &&
      [301, 302, 303, 307, 308].includes(status) &&
      location &&
      hops < MAX_REDIRECTS
    ) {
      res.resume();
      const next = new URL(location, url);
      // Credentials for the registry are not for the storage it redirects to.
      if (next.host !== url.host) {
        const { Authorization: _a, authorization: _b, ...rest } = headers;
        headers = rest;
      }
      url = next;
      continue;
    }
    return res;
  }
}

function sendOnce(req: HttpRequest & { url: string }): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const agent = isHttps ? (req.verifyTls ? agents.https : agents.httpsInsecure) : agents.http;
    const body =
      req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : req.body();
    const headers: Record<string, string> = { ...req.headers };
    if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
    const r = mod.request(url, { method: req.method, headers, agent, signal: req.signal });
    let secured = !isHttps;
    if (isHttps) {
      r.on('socket', (sock) => {
        // A reused keep-alive socket is already secure; a plain one never emits secureConnect
        // (listening there would pile up one listener per request on a kept-alive socket).
        if ((sock as { encrypted?: boolean }).encrypted && !sock.connecting) secured = true;
        else sock.once('secureConnect', () => (secured = true));
      });
    }
    r.setTimeout(SOCKET_TIMEOUT_MS, () =>
      r.destroy(Object.assign(new Error('registry connection timed out'), { code: 'ETIMEDOUT' })),
    );
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') reject(err);
      else
        reject(
          // Worded as Go's net/http errors, which docker users know: Get "url": …
          new NetworkError(
            `${req.method[0]}${req.method.slice(1).toLowerCase()} "${url.href}": ${err.message}`,
            err.code,
            { cause: err, tlsHandshake: !secured },
          ),
        );
    });
    r.on('response', (res) => {
      // The idle timeout keeps guarding the body as it streams.
      res.setTimeout?.(SOCKET_TIMEOUT_MS, () =>
        res.destroy(
          Object.assign(new Error('registry connection timed out'), { code: 'ETIMEDOUT' }),
        ),
      );
      resolve(res);
    });
    if (body === undefined) r.end();
    else if (Buffer.isBuffer(body)) r.end(body);
    else {
      body.on('error', (e) => r.destroy(e));
      body.pipe(r);
    }
  });
}

/** Statuses after which the same request may well succeed. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * TLS spoken to a plain-http server (or the reverse) fails the same way every time: not
 * worth a retry, but a reason to try the next endpoint.
 */
export function isProtocolError(err: unknown): boolean {
  if (!(err instanceof NetworkError)) return false;
  return (
    err.code === 'EPROTO' ||
    (err.code?.startsWith('ERR_SSL_') ?? false) ||
    /wrong version number|packet length too long|unknown protocol/i.test(err.message)
  );
}

export function isTransientError(err: unknown): boolean {
  return err instanceof NetworkError && !isProtocolError(err);
}

/**
 * For an endpoint with a plain-http fallback (unverified https to an insecure registry): a
 * failed TLS handshake means "try http", not "try again" — some servers reset the
 * connection on a ClientHello instead of answering it.
 */
export function retryableOn(ep: { base: string; verifyTls: boolean }): (err: unknown) => boolean {
  const hasFallback = ep.base.startsWith('https:') && !ep.verifyTls;
  return (err) =>
    isTransientError(err) && !(hasFallback && err instanceof NetworkError && err.tlsHandshake);
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, err: unknown) => void;
}

/**
 * Run `fn` until it succeeds, retrying transient failures (`isTransient`) with exponential
 * backoff and jitter: 250 ms, 500 ms, 1 s, … Anything else is thrown at once.
 */
export async function retrying<T>(
  fn: (attempt: number) => Promise<T>,
  isTransient: (err: unknown) => boolean,
  opts: RetryOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !isTransient(err) || opts.signal?.aborted) throw err;
      opts.onRetry?.(attempt, err);
      const delay = base * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Read a (small) response body. */
export async function readBody(res: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) {
      res.destroy();
      throw new Error(`response body exceeds ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
