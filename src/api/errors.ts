import type { ServerResponse } from 'node:http';

import { errorKind, errorMessage, type ErrorKind, type Logger } from '../common/index.js';

/** The one place where an engine error kind becomes an HTTP status (moby httpstatus). */
const statusByKind: Record<ErrorKind, number> = {
  'invalid-argument': 400,
  'not-found': 404,
  conflict: 409,
  'not-modified': 304,
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
  'not-implemented': 501,
  internal: 500,
};

export function statusOf(err: unknown): number {
  return statusByKind[errorKind(err)];
}

/** Write `{"message": ...}` with Docker's status; only 5xx are logged (they are our bugs or the host's). */
export function writeError(res: ServerResponse, err: unknown, log: Logger): void {
  const status = statusOf(err);
  if (status >= 500) log.error({ err }, 'request failed');
  if (res.headersSent) {
    // A stream was already under way: all we can do is end it.
    res.destroy();
    return;
  }
  if (status === 304) {
    res.writeHead(304).end();
    return;
  }
  const body = JSON.stringify({ message: errorMessage(err) });
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
