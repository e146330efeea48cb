import { ApiError, ConnectionError } from '../client/errors.js';

/** Docker's text for an error: daemon errors are prefixed "Error response from daemon: ". */
export function describeErrorText(err: unknown): string {
  if (err instanceof ApiError) return `Error response from daemon: ${err.message}`;
  if (err instanceof ConnectionError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
