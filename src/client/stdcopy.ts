/**
 * Docker's multiplexed stream format (non-TTY attach, logs, exec): each frame is an 8-byte
 * header [stream, 0, 0, 0, size (uint32 big-endian)] followed by `size` bytes of payload.
 * Stream 0 = stdin, 1 = stdout, 2 = stderr, 3 = systemerr (the daemon reports an error).
 */
export type StreamId = 0 | 1 | 2 | 3;

export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: StreamId, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const stream = buf[0] as StreamId;
      this.onFrame(stream > 3 ? 1 : stream, buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get leftover(): number {
    return this.pending.length;
  }
}

/** Encodes one frame (for tests and for servers). */
export function encodeFrame(stream: StreamId, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}
