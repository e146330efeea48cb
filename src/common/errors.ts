/**
 * Engine errors are classified by kind, not by type name: the API maps a kind to an HTTP
 * status in one place (api/errors.ts), the CLI maps it to an exit code. Messages that clients
 * parse are Docker's verbatim ("No such container: x").
 */
export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'conflict'
  | 'not-modified'
  | 'unauthorized'
  | 'forbidden'
  | 'unavailable'
  | 'not-implemented'
  | 'internal';

export class WharfError extends Error {
  readonly kind: ErrorKind;
  /** A stable, machine-readable code, e.g. ERR_NO_SUCH_CONTAINER. */
  readonly code: string;
  readonly hint?: string;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    opts?: { cause?: unknown; hint?: string },
  ) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WharfError';
    this.kind = kind;
    this.code = code;
    this.hint = opts?.hint;
  }
}

export const invalidArgument = (message: string, cause?: unknown): WharfError =>
  new WharfError('invalid-argument', 'ERR_INVALID_ARGUMENT', message, { cause });
export const notFound = (message: string, code = 'ERR_NOT_FOUND'): WharfError =>
  new WharfError('not-found', code, message);
export const conflict = (message: string, code = 'ERR_CONFLICT'): WharfError =>
  new WharfError('conflict', code, message);
export const notModified = (message = ''): WharfError =>
  new WharfError('not-modified', 'ERR_NOT_MODIFIED', message);
export const unavailable = (message: string): WharfError =>
  new WharfError('unavailable', 'ERR_UNAVAILABLE', message);
export const notImplemented = (message: string): WharfError =>
  new WharfError('not-implemented', 'ERR_NOT_IMPLEMENTED', message);
export const internal = (message: string, cause?: unknown): WharfError =>
  new WharfError('internal', 'ERR_INTERNAL', message, { cause });

/** The kind of an error, walking `cause` until a classified error is found. */
export function errorKind(err: unknown): ErrorKind {
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 16; depth++) {
    if (e instanceof WharfError) return e.kind;
    e = (e as { cause?: unknown }).cause;
  }
  return 'internal';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** True for a Node system error with the given errno code (ENOENT, EEXIST...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
