import { WharfError, type ErrorKind } from '../common/errors.js';

/** An error response of the daemon: `{"message": ...}` with its HTTP status. */
export class ApiError extends WharfError {
  readonly statusCode: number;
  /** The daemon's newest API version, from the response's Api-Version header. */
  serverApiVersion?: string;

  constructor(statusCode: number, message: string) {
    super(kindOfStatus(statusCode), `ERR_API_${statusCode}`, message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
  }
}

/**
 * An error inside a progress stream (`{"errorDetail": {"message": ...}}` after a 200): the
 * request was accepted, the work failed. docker prints these without its "Error response
 * from daemon" prefix.
 */
export class StreamError extends WharfError {
  constructor(message: string) {
    super('internal', 'ERR_STREAM', message);
    this.name = 'StreamError';
  }
}

/** The daemon cannot be reached at all (no socket, refused). */
export class ConnectionError extends WharfError {
  constructor(hostUrl: string, cause: unknown) {
    super(
      'unavailable',
      'ERR_DAEMON_UNREACHABLE',
      `Cannot connect to the Wharf daemon at ${hostUrl}. Is the wharf daemon running?`,
      { cause },
    );
    this.name = 'ConnectionError';
  }
}

export function kindOfStatus(status: number): ErrorKind {
  switch (status) {
    case 304:
      return 'not-modified';
    case 400:
      return 'invalid-argument';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    case 501:
      return 'not-implemented';
    case 503:
      return 'unavailable';
    default:
      return status >= 400 && status < 500 ? 'invalid-argument' : 'internal';
  }
}

/** The error for a non-2xx response, its message taken from Docker's `{"message"}` body. */
export function errorFromResponse(status: number, body: string): ApiError {
  let message = body.trim();
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed?.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (a proxy, a crashed handler): keep the raw text.
  }
  if (message === '') message = `${status} ${statusText(status)}`;
  return new ApiError(status, message);
}

function statusText(status: number): string {
  if (status === 404) return 'page not found';
  if (status >= 500) return 'internal server error';
  return 'error';
}
