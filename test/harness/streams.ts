/**
 * Helpers for driving the Engine API below dockerode: raw HTTP on the daemon's socket, stream
 * collection and demultiplexing, unique resource names.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { PassThrough, type Readable } from 'node:stream';

import type Docker from 'dockerode';

import { eventually } from './daemon.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP request on the daemon's unix socket, body sent verbatim. */
export function rawRequest(
  socket: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socket,
        method,
        path,
        headers: {
          ...(body !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
            : { 'Content-Length': 0 }),
          ...headers,
        },
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A unique name for a resource of this test run: `<prefix>-<6 hex>`. */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Accumulates what a stream produces; `until(text)` polls for it. */
export class Sink {
  private chunks: Buffer[] = [];
  readonly stream = new PassThrough();
  constructor() {
    this.stream.on('data', (c: Buffer) => this.chunks.push(c));
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  until(pred: string | RegExp, timeoutMs = 10_000): Promise<string> {
    return eventually(
      () => {
        const t = this.text;
        return (typeof pred === 'string' ? t.includes(pred) : pred.test(t)) ? t || ' ' : '';
      },
      timeoutMs,
      `output matching ${String(pred)} (got ${JSON.stringify(this.text.slice(-300))})`,
    );
  }
}

/** Resolves when a stream ends or closes. */
export function ended(stream: Readable | NodeJS.ReadableStream): Promise<void> {
  const s = stream as Readable;
  if (s.readableEnded || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}

/** Demultiplex a non-TTY attach/logs/exec stream into two sinks. */
export function demux(docker: Docker, stream: NodeJS.ReadableStream): { out: Sink; err: Sink } {
  const out = new Sink();
  const err = new Sink();
  docker.modem.demuxStream(stream, out.stream, err.stream);
  return { out, err };
}

/** Read a multiplexed stream to its end, split into stdout and stderr. */
export async function demuxAll(
  docker: Docker,
  stream: NodeJS.ReadableStream,
): Promise<{ stdout: string; stderr: string }> {
  const { out, err } = demux(docker, stream);
  await ended(stream);
  return { stdout: out.text, stderr: err.text };
}

/** Read a (raw) stream to its end. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer | string) => chunks.push(Buffer.from(c)));
  await ended(stream);
  return Buffer.concat(chunks).toString();
}

/** Split a whole multiplexed body (8-byte frame headers) into stdout and stderr. */
export function demuxBuffer(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i]!;
    const len = buf.readUInt32BE(i + 4);
    const payload = buf.subarray(i + 8, i + 8 + len);
    (kind === 2 ? err : out).push(payload);
    i += 8 + len;
  }
  if (i !== buf.length) throw new Error(`torn frame at byte ${i} of ${buf.length}`);
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/**
 * POST /containers/{id}/wait, resolved once the response headers are in: the daemon sends them
 * after registering the wait, so what the test does next cannot be missed. `body` is the JSON.
 */
export function waitRequest(
  socket: string,
  id: string,
  condition: string,
): Promise<{ status: number; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socket,
        method: 'POST',
        path: `/containers/${encodeURIComponent(id)}/wait?condition=${condition}`,
        // One write: no chunked body whose last chunk could meet an already-closed socket.
        headers: { 'Content-Length': '0' },
      },
      (res) => {
        const body = new Promise<string>((done, fail) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(Buffer.concat(chunks).toString()));
          res.on('error', fail);
        });
        body.catch(() => undefined);
        resolve({ status: res.statusCode ?? 0, body });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
