import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

import { ConnectionError, errorFromResponse } from './errors.js';
import type { DaemonHost } from './host.js';

export type QueryValue = string | number | boolean | undefined | null | readonly string[];
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /** Path without the version prefix, e.g. /containers/json. */
  path: string;
  query?: Query;
  /** A JS value (sent as JSON), a Buffer, or a stream (sent as-is, chunked). */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A hijacked connection: after `101 UPGRADED`, a raw duplex byte stream to the container. */
export interface Hijacked {
  socket: Socket;
}

const USER_AGENT = 'Wharf-Client/0.1.0 (linux)';

/**
 * Only TLS uses the server name, but without one node's http.Agent derives it from the host
 * with isIP(), whose first call compiles a large IPv6 regex: ~5 ms of every CLI start.
 */
const SERVERNAME = 'localhost';

export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v as readonly string[]) {
        parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(item)}`);
      }
      continue;
    }
    const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function isReadable(v: unknown): v is Readable {
  return typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function';
}

/** HTTP over the daemon's unix socket, with one keep-alive agent per client. */
export class Transport {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  private readonly target: { socketPath: string; servername: string };

  constructor(readonly host: DaemonHost) {
    this.target = { socketPath: host.socketPath, servername: SERVERNAME };
  }

  /** Sends a request; resolves with the response once its headers arrive, rejects on >= 400. */
  send(fullPath: string, opts: RequestOptions): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const { headers, payload } = encodeBody(opts);
      const req = httpRequest({
        ...this.target,
        agent: this.agent,
        method: opts.method,
        path: fullPath + buildQuery(opts.query),
        headers: { 'User-Agent': USER_AGENT, ...headers, ...opts.headers },
        signal: opts.signal,
      });
      req.on('error', (err) => reject(this.wrapError(err)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 400) {
          resolve(res);
          return;
        }
        readAll(res).then(
          (body) => {
            const err = errorFromResponse(status, body.toString('utf8'));
            const v = res.headers['api-version'];
            if (typeof v === 'string') err.serverApiVersion = v;
            reject(err);
          },
          (err: unknown) => reject(err),
        );
      });
      if (isReadable(payload)) {
        payload.on('error', (err) => req.destroy(err));
        payload.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  /**
   * A request upgraded to a raw stream (attach, exec start): `Upgrade: tcp`, expect `101`.
   * The connection does not come from the keep-alive pool: it is never returned to it.
   */
  hijack(fullPath: string, opts: RequestOptions): Promise<Hijacked> {
    return new Promise((resolve, reject) => {
      const { headers, payload } = encodeBody(opts);
      const req = httpRequest({
        ...this.target,
        agent: false,
        method: opts.method,
        path: fullPath + buildQuery(opts.query),
        headers: {
          'User-Agent': USER_AGENT,
          ...headers,
          ...opts.headers,
          Connection: 'Upgrade',
          Upgrade: 'tcp',
        },
      });
      req.on('error', (err) => reject(this.wrapError(err)));
      req.on('upgrade', (_res, socket, head) => {
        socket.setNoDelay?.(true);
        if (head.length > 0) socket.unshift(head);
        resolve({ socket });
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        readAll(res).then(
          (body) => {
            if (status >= 400) reject(errorFromResponse(status, body.toString('utf8')));
            else reject(new Error(`attach: expected 101 from the daemon, got ${status}`));
          },
          (err: unknown) => reject(err),
        );
      });
      req.end(isReadable(payload) ? undefined : payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private wrapError(err: Error): Error {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') {
      return new ConnectionError(this.host.url, err);
    }
    return err;
  }
}

function encodeBody(opts: RequestOptions): {
  headers: Record<string, string>;
  payload: Buffer | Readable | undefined;
} {
  const b = opts.body;
  if (b === undefined) return { headers: {}, payload: undefined };
  if (isReadable(b)) return { headers: { 'Content-Type': 'application/x-tar' }, payload: b };
  if (Buffer.isBuffer(b)) return { headers: { 'Content-Type': 'application/x-tar' }, payload: b };
  const json = Buffer.from(JSON.stringify(b));
  return {
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(json.length) },
    payload: json,
  };
}

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Calls `onValue` for each newline-delimited JSON value of a stream; resolves at its end. */
export function readJsonLines<T>(stream: Readable, onValue: (v: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const flush = (final: boolean): void => {
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line !== '') onValue(JSON.parse(line) as T);
      }
      if (final && pending.trim() !== '') {
        onValue(JSON.parse(pending) as T);
        pending = '';
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => {
      pending += c;
      try {
        flush(false);
      } catch (err) {
        stream.destroy();
        reject(err);
      }
    });
    stream.on('end', () => {
      try {
        flush(true);
        resolve();
      } catch (err) {
        reject(err);
      }
    });
    stream.on('error', reject);
    stream.on('close', () => resolve());
  });
}
