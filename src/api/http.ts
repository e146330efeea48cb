import type { IncomingMessage, ServerResponse } from 'node:http';

import { invalidArgument } from '../common/index.js';

/** Docker's query booleans (httputils.BoolValue): 0/no/false/none, any case, are false. */
export function qbool(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name)?.trim().toLowerCase();
  if (v === undefined || v === '') return dflt;
  return !['0', 'false', 'no', 'none'].includes(v);
}

export function qint(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw invalidArgument(`invalid value for ${name}: ${v}`);
  return n;
}

const MAX_JSON_BODY = 8 * 1024 * 1024;

/**
 * Read a JSON request body; an empty body is `undefined`. On an upgraded (hijacked) request
 * the body was already split off the raw socket and is passed in.
 */
export async function readJsonBody<T>(
  req: IncomingMessage,
  upgraded?: { body: Buffer },
): Promise<T | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (upgraded) chunks.push(upgraded.body);
  else {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_JSON_BODY) throw invalidArgument('request body too large');
      chunks.push(chunk as Buffer);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`, err);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status).end();
}
