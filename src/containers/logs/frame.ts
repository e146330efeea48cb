import { formatRFC3339Nano, parseRFC3339Nano } from '../../api-types/index.js';

/**
 * One frame of Docker's multiplexed stdout/stderr stream (non-TTY attach and logs): an 8-byte
 * header (stream type, three zero bytes, big-endian uint32 payload length), then the payload.
 */
export function encodeFrame(stream: 1 | 2, data: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(8 + data.length);
  frame.writeUInt32BE(0, 0);
  frame[0] = stream;
  frame.writeUInt32BE(data.length, 4);
  data.copy(frame, 8);
  return frame;
}

/**
 * The timestamp `docker logs --timestamps` prints before each message (the caller adds the
 * space): UTC with the fraction padded to nine digits, as dockerd's `rfc3339NanoFixed`
 * (`2024-01-02T03:04:05.120000000Z`), so that columns line up. Takes nanoseconds since the
 * epoch or an RFC 3339 string (as LogEntry.time).
 */
export function formatTimestamp(time: bigint | string): string {
  const ns = typeof time === 'bigint' ? time : parseRFC3339Nano(time);
  if (ns === undefined) throw new TypeError(`not an RFC 3339 time: ${time}`);
  return formatRFC3339Nano(ns, { fixed: true });
}
