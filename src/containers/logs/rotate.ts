import { renameSync, statSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

import { internal, invalidArgument, isErrno } from '../../common/index.js';

export type LogDriver = 'json-file' | 'local' | 'none';

export interface LogConfig {
  driver: LogDriver;
  /** Rotate the current file when it reaches this many bytes; 0: never. */
  maxSize: number;
  /** Files kept, the current one included (maxFile 1: rotation drops the old content). */
  maxFile: number;
  /** Asked for rotated files to be gzipped (validated; not done yet, see LogRotator). */
  compress: boolean;
}

/** Wharf's default when max-size/max-file are unset (Docker's `local` driver defaults). */
export const DEFAULT_MAX_SIZE = 20 * 1024 * 1024;
export const DEFAULT_MAX_FILE = 5;

/** Options every file driver takes (labels/env for log attributes, tag for the log tag). */
const COMMON_OPTS = ['labels', 'labels-regex', 'env', 'env-regex', 'tag'];
const FILE_OPTS = new Set(['max-file', 'max-size', 'compress', ...COMMON_OPTS]);
/** Options the daemon handles for every driver. */
const BUILTIN_OPTS = new Set(['mode', 'max-buffer-size']);

/**
 * Validate `--log-driver`/`--log-opt` (HostConfig.LogConfig) as dockerd does, with its error
 * texts, and resolve rotation. Unlike Docker's json-file (unlimited by default, the reason for
 * moby#27957) every file driver rotates: unset max-size is 20 MB and unset max-file is 5.
 * As in Docker, `none` takes any options and ignores them.
 */
export function parseLogOpts(
  driver: string | undefined,
  opts: Record<string, string> | null | undefined,
): LogConfig {
  const name = driver === undefined || driver === '' ? 'json-file' : driver;
  const cfg = opts ?? {};
  if (name === 'none') return { driver: 'none', maxSize: 0, maxFile: 0, compress: false };
  if (name !== 'json-file' && name !== 'local') {
    throw invalidArgument(`logger: no log driver named '${name}' is registered`);
  }
  const mode = cfg['mode'] ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') {
    throw invalidArgument(`logger: logging mode not supported: ${mode}`);
  }
  if (cfg['max-buffer-size'] !== undefined) {
    if (mode !== 'non-blocking') {
      throw invalidArgument(
        "logger: max-buffer-size option is only supported with 'mode=non-blocking'",
      );
    }
    try {
      parseHumanSize(cfg['max-buffer-size'], 1024);
    } catch (err) {
      throw invalidArgument(`error parsing option max-buffer-size: ${(err as Error).message}`, err);
    }
  }
  for (const key of Object.keys(cfg)) {
    if (BUILTIN_OPTS.has(key) || FILE_OPTS.has(key)) continue;
    throw invalidArgument(
      name === 'json-file'
        ? `unknown log opt '${key}' for json-file log driver`
        : `unknown log opt '${key}' for log driver local`,
    );
  }
  return name === 'json-file' ? jsonFileConfig(cfg) : localConfig(cfg);
}

function jsonFileConfig(cfg: Record<string, string>): LogConfig {
  let maxSize = DEFAULT_MAX_SIZE;
  const size = cfg['max-size'];
  if (size !== undefined) {
    maxSize = parseHumanSize(size);
    if (maxSize <= 0) throw invalidArgument('max-size must be a positive number');
  }
  let maxFile = DEFAULT_MAX_FILE;
  const files = cfg['max-file'];
  if (files !== undefined) {
    maxFile = atoi(files);
    if (maxFile < 1) throw invalidArgument('max-file cannot be less than 1');
  }
  let compress = false;
  if (cfg['compress'] !== undefined) {
    compress = parseBool(cfg['compress']);
    if (compress && maxFile === 1) {
      throw invalidArgument(
        'compress cannot be true when max-file is less than 2 or max-size is not set',
      );
    }
  }
  return { driver: 'json-file', maxSize, maxFile, compress };
}

function localConfig(cfg: Record<string, string>): LogConfig {
  let maxSize = DEFAULT_MAX_SIZE;
  const size = cfg['max-size'];
  if (size !== undefined) {
    try {
      maxSize = parseHumanSize(size);
    } catch (err) {
      throw invalidArgument(`invalid value for max-size: ${size}: ${(err as Error).message}`, err);
    }
  }
  let maxFile = DEFAULT_MAX_FILE;
  const files = cfg['max-file'];
  if (files !== undefined) {
    try {
      maxFile = atoi(files);
    } catch (err) {
      throw invalidArgument(`invalid value for max-file: ${files}: ${(err as Error).message}`, err);
    }
  }
  let compress = true;
  if (cfg['compress'] !== undefined) {
    try {
      compress = parseBool(cfg['compress']);
    } catch (err) {
      throw invalidArgument(`invalid boolean value for compress: ${(err as Error).message}`, err);
    }
  }
  if (maxSize < 0) throw invalidArgument('max-size must not be negative');
  if (maxFile < 0) throw invalidArgument('max-file must not be negative');
  if (compress && maxFile <= 1) {
    throw invalidArgument('compression cannot be enabled when max file count is 1');
  }
  return { driver: 'local', maxSize, maxFile, compress };
}

/**
 * go-units' size parsing: `FromHumanSize` (decimal, base 1000: `10m` = 10,000,000 bytes, as
 * dockerd reads max-size) or `RAMInBytes` (base 1024). Suffixes k, m, g, t, p, optionally
 * followed by `b` or `ib`, any case; a bare number is bytes.
 */
export function parseHumanSize(value: string, base: 1000 | 1024 = 1000): number {
  const m = /^(.*?[0-9.])( ?)([^0-9. ]*)$/.exec(value);
  if (!m) throw invalidArgument(`invalid size: '${value}'`);
  const [, num, , rawSfx] = m as unknown as [string, string, string, string];
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) {
    throw invalidArgument(`strconv.ParseFloat: parsing "${num}": invalid syntax`);
  }
  const n = Number(num);
  if (n < 0) throw invalidArgument(`invalid size: '${value}'`);
  if (rawSfx === '') return Math.trunc(n);
  const sfx = rawSfx.toLowerCase();
  const badSuffix = (): Error => invalidArgument(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw badSuffix();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw badSuffix();
    return Math.trunc(n);
  }
  const power = 'kmgtp'.indexOf(sfx[0]!);
  if (power < 0) throw badSuffix();
  if (sfx.length === 2 && sfx[1] !== 'b') throw badSuffix();
  if (sfx.length === 3 && sfx.slice(1) !== 'ib') throw badSuffix();
  return Math.trunc(n * base ** (power + 1));
}

function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw invalidArgument(`strconv.Atoi: parsing "${s}": invalid syntax`);
  return Number(s);
}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw invalidArgument(`strconv.ParseBool: parsing "${s}": invalid syntax`);
}

export interface LogRotatorOptions {
  /** The file conmon writes. */
  file: string;
  /** Rotate when the file has reached this many bytes; 0: never. */
  maxSize: number;
  /** Files kept, the current one included. */
  maxFile: number;
  /** Make the writer (conmon) close the renamed file and create a new one at `file`. */
  reopen: () => Promise<void>;
}

/**
 * Size-based rotation of a conmon log file: `file` → `file.1` → `file.2` …, the oldest beyond
 * `maxFile` deleted, then `reopen()` so conmon writes a fresh `file`. Readers that follow the
 * file finish the renamed one and move on to the new one (see readLogs). The file can exceed
 * maxSize by what conmon writes between two `check()` calls; with `watch()` a check follows
 * every write, so only what conmon writes while one rotation is under way overshoots.
 */
export class LogRotator {
  private chain: Promise<unknown> = Promise.resolve();
  private reopenPending = false;
  private watcher?: FSWatcher;

  constructor(private readonly opts: LogRotatorOptions) {
    if (!Number.isInteger(opts.maxFile) || opts.maxFile < 1) {
      throw invalidArgument(`max-file must be at least 1, not ${opts.maxFile}`);
    }
  }

  /** Rotate if the file is at or over maxSize; true when it rotated. Calls run one at a time. */
  check(): Promise<boolean> {
    return this.serial(async () => {
      if (this.reopenPending) {
        await this.reopen();
        return false;
      }
      if (this.opts.maxSize <= 0) return false;
      const size = await sizeOf(this.opts.file);
      if (size === undefined || size < this.opts.maxSize) return false;
      await this.rotateNow();
      return true;
    });
  }

  /**
   * Check after writes too, not only when the caller's timer fires: inotify on the file's
   * directory reports each write to the log (the kernel merges repeated events while we are
   * busy), and at most one check runs at a time. Idempotent; `unwatch()` stops it.
   */
  watch(): void {
    if (this.watcher || this.opts.maxSize <= 0) return;
    const base = path.basename(this.opts.file);
    let busy = false;
    let again = false;
    const run = (): void => {
      busy = true;
      this.check()
        .catch(() => undefined) // the caller's periodic check reports failures
        .finally(() => {
          busy = false;
          // Writes while that check ran: one more check, or the last of a burst could leave
          // the file past max-size until the caller's next periodic check.
          if (again) {
            again = false;
            run();
          }
        });
    };
    try {
      this.watcher = watch(path.dirname(this.opts.file), (_event, name) => {
        if (name !== base) return;
        if (busy) again = true;
        else run();
      });
    } catch {
      return; // no directory (removed): the periodic check is enough
    }
    this.watcher.on('error', () => this.unwatch());
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Rotate now, whatever the size. */
  rotate(): Promise<void> {
    return this.serial(() => this.rotateNow());
  }

  /** The log files that exist, oldest rotated first and the current file last. */
  async files(): Promise<string[]> {
    const out: string[] = [];
    for (let i = this.opts.maxFile - 1; i >= 1; i--) {
      const f = `${this.opts.file}.${i}`;
      if ((await sizeOf(f)) !== undefined) out.push(f);
    }
    if ((await sizeOf(this.opts.file)) !== undefined) out.push(this.opts.file);
    return out;
  }

  private async rotateNow(): Promise<void> {
    const { file, maxFile } = this.opts;
    if ((await sizeOf(file)) === undefined) return;
    if (maxFile === 1) {
      // Keep nothing old: move it aside so conmon can reopen, then drop it (open readers
      // still finish it through their descriptors).
      await renameIfExists(file, `${file}.1`);
      await this.reopen();
      await unlinkIfExists(`${file}.1`);
      return;
    }
    await unlinkIfExists(`${file}.${maxFile - 1}`);
    for (let i = maxFile - 2; i >= 1; i--) await renameIfExists(`${file}.${i}`, `${file}.${i + 1}`);
    await renameIfExists(file, `${file}.1`);
    await this.reopen();
  }

  private async reopen(): Promise<void> {
    this.reopenPending = true;
    try {
      await this.opts.reopen();
    } catch (err) {
      // Renamed but not reopened: conmon still writes file.1; retried by the next check().
      throw internal(`reopening log file ${this.opts.file}`, err);
    }
    this.reopenPending = false;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined); // the caller gets the error; the chain goes on
    return run;
  }
}

// The rotation's file operations are synchronous on purpose: a few metadata syscalls on a
// local disk take microseconds, while each asynchronous one waits for a thread-pool round
// trip, and every moment a rotation takes is more output past max-size.

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return statSync(file).size;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    renameSync(from, to);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

async function unlinkIfExists(file: string): Promise<void> {
  try {
    unlinkSync(file);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}
