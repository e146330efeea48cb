/** Registry error responses (`{"errors":[{"code","message","detail"}]}`) as engine errors. */
import type { IncomingMessage } from 'node:http';

import { WharfError, type ErrorKind } from '../../common/index.js';
import { readBody } from './http.js';

interface RegistryErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: unknown }>;
}

function kindOf(status: number): ErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 429 || status >= 500) return 'unavailable';
  return 'invalid-argument';
}

/**
 * The text of a registry error as docker's errcode prints it: "manifest unknown: manifest
 * unknown", "unauthorized: authentication required". Falls back to the HTTP status.
 */
export function describeRegistryError(status: number, statusText: string, body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as RegistryErrorBody;
    const first = parsed.errors?.[0];
    if (first?.code) {
      const code = first.code.toLowerCase().replace(/_/g, ' ');
      return `${code}: ${first.message ?? code}`;
    }
  } catch {
    // not JSON: use the status line
  }
  const text = body.toString('utf8').trim();
  const base = `${status} ${statusText}`.trim();
  return text && text.length < 200 && !text.startsWith('<') ? `${base}: ${text}` : base;
}

export async function registryError(res: IncomingMessage, prefix?: string): Promise<WharfError> {
  const status = res.statusCode ?? 0;
  const body = await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0));
  const text = describeRegistryError(status, res.statusMessage ?? '', body);
  return new WharfError(
    kindOf(status),
    `ERR_REGISTRY_${status}`,
    prefix ? `${prefix}: ${text}` : text,
  );
}

export const unauthorized = (message: string): WharfError =>
  new WharfError('unauthorized', 'ERR_UNAUTHORIZED', message);
