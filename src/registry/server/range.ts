/**
 * Byte ranges: `Range: bytes=a-b` on blob GET (RFC 9110, one range only), and the
 * `Content-Range: a-b` of a chunked upload PATCH (the distribution spec's form, no unit).
 */
import { regErr } from './errors.js';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * The range a blob GET should serve: undefined for the whole blob (no header, or a header we
 * ignore as RFC 9110 allows: other units, several ranges), `'unsatisfiable'` for a range
 * outside the blob (416).
 */
export function parseRangeHeader(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    // Suffix range: the last N bytes.
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return undefined; // invalid: ignored, whole blob
  if (start >= size) return 'unsatisfiable';
  end = Math.min(end, size - 1);
  return { start, end };
}

/** `Content-Range` of a PATCH chunk: `start-end`, inclusive, start ≤ end. */
export function parseContentRange(header: string): ByteRange {
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw regErr('RANGE_INVALID', 'invalid Content-Range', { contentRange: header }, 416);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw regErr('RANGE_INVALID', 'invalid Content-Range', { contentRange: header }, 416);
  }
  return { start, end };
}

/** The `Range` header of upload responses: bytes received so far, `0-<last>`. */
export function uploadRangeHeader(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}
