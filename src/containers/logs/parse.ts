/**
 * The CRI "k8s-file" log format conmon writes: one record per line,
 * `<RFC 3339 time with nanoseconds and zone> <stdout|stderr> <P|F>[:tags] <content>\n`.
 * `P` is part of a line continued by the stream's next record, `F` ends the line (the line's own
 * newline is not in the content). conmon writes local time with an offset; Wharf reports UTC.
 */
import { formatRFC3339Nano, parseRFC3339Nano } from '../../api-types/index.js';

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  /** Nanoseconds since the epoch. */
  ns: bigint;
  stream: LogStream;
  /** True for a `P` record: the line continues in the stream's next record. */
  partial: boolean;
  /** The record's bytes, without the record's terminating newline. */
  content: Buffer;
}

const SPACE = 0x20;
const NL = 0x0a;

/**
 * Parse one record line (without its terminating '\n'; a trailing '\r' or '\n' is part of the
 * content only if it precedes that). Returns undefined for anything that is not a record.
 */
export function parseLogLine(line: Buffer): LogRecord | undefined {
  if (line.length > 0 && line[line.length - 1] === NL) line = line.subarray(0, line.length - 1);
  const sp1 = line.indexOf(SPACE);
  if (sp1 < 20 || sp1 > 40) return undefined;
  const ns = parseRFC3339Nano(line.toString('latin1', 0, sp1));
  if (ns === undefined) return undefined;
  const sp2 = line.indexOf(SPACE, sp1 + 1);
  if (sp2 < 0) return undefined;
  const streamName = line.toString('latin1', sp1 + 1, sp2);
  if (streamName !== 'stdout' && streamName !== 'stderr') return undefined;
  // The tag: P or F, optionally followed by ':'-separated extra tags. The space after it may be
  // missing for an empty F record written by other CRI writers.
  let sp3 = line.indexOf(SPACE, sp2 + 1);
  if (sp3 < 0) sp3 = line.length;
  const tag = line.toString('latin1', sp2 + 1, sp3).split(':')[0];
  if (tag !== 'P' && tag !== 'F') return undefined;
  return {
    ns,
    stream: streamName,
    partial: tag === 'P',
    content: line.subarray(Math.min(sp3 + 1, line.length)),
  };
}

/**
 * Splits a byte stream into complete record lines. Bytes after the last newline (a record
 * conmon is still writing, or a torn tail) stay buffered until their newline arrives; a "line"
 * longer than `maxLine` is garbage and is dropped up to its newline, so memory stays bounded.
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLen = 0;
  private discarding = false;

  constructor(private readonly maxLine = 1024 * 1024) {}

  /** Complete lines in `chunk` (after what was carried), without their '\n'. */
  *push(chunk: Buffer): Generator<Buffer> {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      if (this.discarding) {
        this.discarding = false;
      } else if (this.carryLen > 0) {
        this.carry.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.carry);
        this.carry = [];
        this.carryLen = 0;
        yield line;
      } else {
        yield chunk.subarray(start, nl);
      }
      start = nl + 1;
    }
    if (start < chunk.length && !this.discarding) {
      // Copy: the caller reuses its read buffer.
      const rest = Buffer.from(chunk.subarray(start));
      this.carry.push(rest);
      this.carryLen += rest.length;
      if (this.carryLen > this.maxLine) {
        this.carry = [];
        this.carryLen = 0;
        this.discarding = true;
      }
    }
  }

  /** Bytes waiting for their newline. */
  get pending(): number {
    return this.carryLen;
  }

  reset(): void {
    this.carry = [];
    this.carryLen = 0;
    this.discarding = false;
  }
}

/** Parse a whole buffer: the records of its complete lines; garbage and a torn tail are skipped. */
export function parseLogBuffer(buf: Buffer): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of new LineSplitter(Number.MAX_SAFE_INTEGER).push(buf)) {
    const rec = parseLogLine(line);
    if (rec) out.push(rec);
  }
  return out;
}

/**
 * A record as the k8s-file line conmon writes (UTC, `Z`); for tests and tools. `content` must
 * not contain a newline.
 */
export function formatLogLine(rec: Omit<LogRecord, 'partial'> & { partial?: boolean }): Buffer {
  const head = `${formatRFC3339Nano(rec.ns, { fixed: true })} ${rec.stream} ${rec.partial ? 'P' : 'F'} `;
  return Buffer.concat([Buffer.from(head, 'latin1'), rec.content, Buffer.from('\n')]);
}
