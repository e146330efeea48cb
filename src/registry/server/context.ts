/** What a request handler gets, and small helpers for writing responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Logger } from '../../common/index.js';
import type { AuthOutcome } from './auth.js';
import type { RegistryStore } from './store.js';
import type { Uploads } from './uploads.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  auth: AuthOutcome;
  store: RegistryStore;
  uploads: Uploads;
  logger: Logger;
  /** Serve large blobs with O_DIRECT reads. */
  directIo: boolean;
}

/** End a response with no body (Content-Length 0, so keep-alive clients need not guess). */
export function empty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'Content-Length': '0' });
  res.end();
}

export function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    ...headers,
    'Content-Type': contentType,
    'Content-Length': String(body.length),
  });
  res.end(body);
}

/** Read a small body, at most `limit` bytes; undefined when it is larger. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
