import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

import { isErrno } from '../../common/index.js';
import { formatRFC3339Nano, secondsToNano } from '../../api-types/index.js';
import { formatTimestamp } from './frame.js';
import { LineSplitter, parseLogLine, type LogRecord, type LogStream } from './parse.js';

export interface LogEntry {
  stream: LogStream;
  /** When conmon read the bytes, RFC 3339 in UTC (Go's RFC3339Nano). */
  time: string;
  /**
   * The record's bytes: a full line ends with '\n'; a partial one (`P`) has none and continues
   * in the stream's next entry. Prefixed with the time and a space when `timestamps` is set.
   */
  data: Buffer;
}

export interface ReadLogsOptions {
  follow: boolean;
  /** Unix seconds (float), inclusive; 0 or absent: from the start. */
  since?: number;
  /** Unix seconds (float), inclusive; 0 or absent: no end. Reading stops at the first later record. */
  until?: number;
  /** Only the last n lines (a line is an `F` record with the `P` records before it). */
  tail?: number | 'all';
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  /**
   * Whether the container has stopped: a callback polled while following, or one returning a
   * promise that settles when it stops. Following ends once it has stopped and the file is read.
   */
  stopped: () => boolean | Promise<void>;
  signal: AbortSignal;
  /** While following, also look for changes this often (ms), in case a watch event is missed. */
  pollMs?: number;
}

const CHUNK = 64 * 1024;
const HEAD = 64; // enough of a record line for its time, stream and tag
const NL = 0x0a;

interface OpenLog {
  fh: FileHandle;
  dev: number;
  ino: number;
  pos: number;
}

/**
 * Read a container's k8s-file logs: `files` are the rotated files oldest first, then the
 * current file (the one conmon writes, watched when following). Entries come in file order with
 * bounded memory: nothing is read ahead of the consumer. A record conmon is still writing (no
 * newline yet) is never emitted half; garbage lines are skipped.
 */
export async function* readLogs(
  files: readonly string[],
  opts: ReadLogsOptions,
): AsyncGenerator<LogEntry, void, undefined> {
  const sinceNs = opts.since ? secondsToNano(opts.since) : undefined;
  const untilNs = opts.until ? secondsToNano(opts.until) : undefined;
  const current = files.at(-1);
  const logs = await openAll(files);
  const buf = Buffer.allocUnsafe(CHUNK);
  const splitter = new LineSplitter();
  let follower: Follower | undefined;
  let cur: OpenLog | undefined; // the followed file once it is not one of `logs`
  try {
    // Where history starts: all of it, the last `tail` lines, or nothing (tail 0).
    let first = 0;
    const tail = opts.tail === undefined || opts.tail === 'all' || opts.tail < 0 ? -1 : opts.tail;
    if (tail >= 0) {
      const start = await findTailStart(logs, tail);
      first = start.index;
      if (logs[first]) logs[first]!.pos = start.offset;
    }

    // A record → an entry, or 'skip', or 'end' (past `until`).
    const toEntry = (rec: LogRecord): LogEntry | 'skip' | 'end' => {
      if (untilNs !== undefined && rec.ns > untilNs) return 'end';
      if (sinceNs !== undefined && rec.ns < sinceNs) return 'skip';
      if (rec.stream === 'stdout' ? !opts.stdout : !opts.stderr) return 'skip';
      const parts: Buffer[] = [];
      if (opts.timestamps) parts.push(Buffer.from(`${formatTimestamp(rec.ns)} `));
      parts.push(rec.content);
      if (!rec.partial) parts.push(Buffer.from('\n'));
      return { stream: rec.stream, time: formatRFC3339Nano(rec.ns), data: Buffer.concat(parts) };
    };

    /** Entries from log.pos to its end; true when `until` was passed. */
    async function* drain(log: OpenLog): AsyncGenerator<LogEntry, boolean, undefined> {
      for (;;) {
        if (opts.signal.aborted) return true;
        const { bytesRead } = await log.fh.read(buf, 0, CHUNK, log.pos);
        if (bytesRead === 0) return false;
        log.pos += bytesRead;
        for (const line of splitter.push(buf.subarray(0, bytesRead))) {
          const rec = parseLogLine(line);
          if (!rec) continue;
          const e = toEntry(rec);
          if (e === 'end') return true;
          if (e !== 'skip') yield e;
        }
      }
    }

    const lastIndex = logs.length - 1;
    for (let i = first; i < logs.length; i++) {
      const log = logs[i]!;
      if (yield* drain(log)) return;
      // A rotated file will not grow: a torn tail there is lost, not carried into the next file.
      if (i < lastIndex || !opts.follow || logs[i]!.path !== current) splitter.reset();
    }
    if (!opts.follow || current === undefined || opts.signal.aborted) return;

    // Follow the current file: wake on inotify events for it (or the poll), drain, and switch
    // to the new file when it was rotated (renamed away and recreated by conmon's reopen).
    follower = new Follower(current, opts);
    cur = logs.at(-1)?.path === current ? logs.at(-1) : undefined;
    for (;;) {
      if (opts.signal.aborted) return;
      // Sample "stopped" before draining: once it is true, what we then drain is everything.
      const stopped = await follower.isStopped();
      if (cur) {
        if (yield* drain(cur)) return;
      }
      const st = await statOrUndefined(current);
      if (st && (!cur || st.ino !== cur.ino || st.dev !== cur.dev)) {
        // A new file at the path. conmon closes the old one before creating it, so the old
        // one is complete: finish it, then continue on the new one from its start.
        if (cur) {
          if (yield* drain(cur)) return;
          const old = cur.fh;
          cur = undefined;
          if (!logs.some((l) => l.fh === old)) await old.close(); // else closed at the end
          splitter.reset();
        }
        cur = await openLog(current);
        continue;
      }
      if (cur && st && st.size < cur.pos) {
        cur.pos = 0; // truncated in place
        splitter.reset();
        continue;
      }
      if (cur && st && st.size > cur.pos) continue;
      if (stopped) return;
      await follower.wait();
    }
  } finally {
    follower?.close();
    const handles = new Set([...logs.map((l) => l.fh), ...(cur ? [cur.fh] : [])]);
    await Promise.all([...handles].map((fh) => fh.close()));
  }
}

type NamedLog = OpenLog & { path: string };

/** Open the files that exist; a file seen twice (renamed during listing) is read once. */
async function openAll(files: readonly string[]): Promise<NamedLog[]> {
  const out: NamedLog[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const log = await openLog(file);
    if (!log) continue;
    const key = `${log.dev}:${log.ino}`;
    if (seen.has(key)) {
      await log.fh.close();
      continue;
    }
    seen.add(key);
    out.push({ ...log, path: file });
  }
  return out;
}

async function openLog(file: string): Promise<OpenLog | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const st = await fh.stat();
  return { fh, dev: st.dev, ino: st.ino, pos: 0 };
}

async function statOrUndefined(
  file: string,
): Promise<{ dev: number; ino: number; size: number } | undefined> {
  try {
    return await stat(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * Where the last `n` lines start: the file index and byte offset. Reads backwards in blocks
 * from the end of the newest file, looking only at each record's head, so the cost is the size
 * of the tail, not of the file.
 */
export async function findTailStart(
  logs: readonly OpenLog[],
  n: number,
): Promise<{ index: number; offset: number }> {
  if (logs.length === 0) return { index: 0, offset: 0 };
  const last = logs.length - 1;
  if (n === 0) return { index: last, offset: (await logs[last]!.fh.stat()).size };
  let counted = 0;
  const seen = new Set<LogStream>(); // streams with a later record already seen
  for (let i = last; i >= 0; i--) {
    const found = await scanBackward(logs[i]!.fh, (head) => {
      const rec = parseLogLine(head);
      if (!rec) return false;
      // A line is counted at its F record, or at a P record that is its stream's last record.
      const counts = !rec.partial || !seen.has(rec.stream);
      seen.add(rec.stream);
      if (!counts) return false;
      if (counted === n) return true; // the line before the n we want
      counted++;
      return false;
    });
    if (found !== undefined) return { index: i, offset: found };
  }
  return { index: 0, offset: 0 };
}

/**
 * Visit complete record lines from the end of a file backwards with each line's first bytes;
 * returns the offset just after the line for which `visit` returned true. The bytes after the
 * last newline (a record being written) are not a line.
 */
async function scanBackward(
  fh: FileHandle,
  visit: (head: Buffer) => boolean,
): Promise<number | undefined> {
  const size = (await fh.stat()).size;
  const block = Buffer.allocUnsafe(CHUNK);
  let blockStart = size;
  let blockEnd = size;
  let lineEnd = size; // exclusive end of the line being looked for (its '\n' or EOF)
  let torn = true; // the first "line" found is the unterminated tail
  while (blockEnd > 0 || lineEnd > 0) {
    if (blockStart === blockEnd || lineEnd <= blockStart) {
      if (blockStart === 0) break;
      blockEnd = Math.min(blockStart, lineEnd);
      blockStart = Math.max(0, blockEnd - CHUNK);
      await readFully(fh, block, blockEnd - blockStart, blockStart);
    }
    const from = Math.min(lineEnd, blockEnd) - 1 - blockStart; // never into stale bytes
    const nl = from >= 0 ? block.lastIndexOf(NL, from) : -1;
    if (nl < 0 && blockStart > 0) {
      blockEnd = blockStart; // the line starts in an earlier block
      blockStart = Math.max(0, blockEnd - CHUNK);
      await readFully(fh, block, blockEnd - blockStart, blockStart);
      continue;
    }
    const lineStart = nl < 0 ? 0 : blockStart + nl + 1;
    if (!torn && lineEnd > lineStart) {
      const headLen = Math.min(HEAD, lineEnd - lineStart);
      let head: Buffer;
      if (lineStart + headLen <= blockEnd) {
        head = block.subarray(lineStart - blockStart, lineStart - blockStart + headLen);
      } else {
        head = Buffer.allocUnsafe(headLen);
        await readFully(fh, head, headLen, lineStart);
      }
      if (visit(head)) return lineEnd + 1;
    }
    torn = false;
    if (lineStart === 0) break;
    lineEnd = lineStart - 1;
  }
  return undefined;
}

async function readFully(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
}

/** Wake-ups for a follower: inotify on the log's directory, a poll, stop and abort. */
class Follower {
  private pending = false;
  private wake?: () => void;
  private watcher?: FSWatcher;
  private stoppedFlag = false;
  private stoppedPromise?: Promise<void>;
  private readonly pollMs: number;
  private readonly onAbort = (): void => this.notify();

  constructor(
    file: string,
    private readonly opts: ReadLogsOptions,
  ) {
    this.pollMs = opts.pollMs ?? 500;
    const base = path.basename(file);
    try {
      // The directory, not the file: the file is replaced on rotation.
      this.watcher = watch(path.dirname(file), (_event, name) => {
        if (name === null || name.startsWith(base)) this.notify();
      });
      this.watcher.on('error', () => {
        // Watching failed (directory removed, inotify limits): the poll keeps us going.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOSPC')) throw err;
      this.watcher = undefined; // poll only
    }
    opts.signal.addEventListener('abort', this.onAbort);
  }

  async isStopped(): Promise<boolean> {
    if (this.stoppedFlag) return true;
    if (this.stoppedPromise) return false;
    const r = this.opts.stopped();
    if (typeof r === 'boolean') {
      this.stoppedFlag = r;
      return r;
    }
    this.stoppedPromise = r.then(
      () => {
        this.stoppedFlag = true;
        this.notify();
      },
      () => {
        // A failed wait for the container counts as stopped: the follower must end.
        this.stoppedFlag = true;
        this.notify();
      },
    );
    await Promise.resolve();
    return this.stoppedFlag;
  }

  wait(): Promise<void> {
    if (this.pending || this.opts.signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.opts.signal.removeEventListener('abort', this.onAbort);
    this.wake?.();
  }

  private notify(): void {
    this.pending = true;
    this.wake?.();
  }
}
