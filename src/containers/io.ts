import path from 'node:path';
import type { Writable } from 'node:stream';

import type { AttachOptions, LogsOptions } from '../api-types/index.js';
import { conflict, invalidArgument, type Logger } from '../common/index.js';
import { DetachScanner, parseDetachKeys } from './detach-keys.js';
import { encodeFrame, readLogs, type LogEntry } from './logs/index.js';
import type { RuntimePort } from './ports.js';
import type { ContainerService } from './service.js';

/** The client side of an attach or exec stream (api/hijack.ts). */
export type { AttachOptions, LogsOptions };

export interface Conn {
  output: Writable;
  input?: NodeJS.ReadableStream;
  closed: Promise<void>;
  end(): void;
}

export function frame(tty: boolean, e: LogEntry): Buffer {
  return tty ? e.data : encodeFrame(e.stream === 'stdout' ? 1 : 2, e.data);
}

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (out.destroyed || out.writableEnded) return;
  if (!out.write(chunk))
    await new Promise<void>((r) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        r();
      };
      out.once('drain', done);
      out.once('close', done);
    });
}

/**
 * Copy the client's stdin into a process's stdin, watching for the detach keys. Resolves with
 * 'detach' when the keys were typed, 'eof' when the client closed its side.
 */
export function pumpStdin(
  input: NodeJS.ReadableStream,
  stdin: Writable,
  opts: { detachKeys?: string; closeOnEof: boolean },
): Promise<'detach' | 'eof'> {
  const scanner = new DetachScanner(parseDetachKeys(opts.detachKeys));
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      const { forward, detach } = scanner.push(chunk);
      if (forward.length > 0 && !stdin.destroyed) stdin.write(forward);
      if (detach) {
        cleanup();
        resolve('detach');
      }
    };
    const onEnd = (): void => {
      cleanup();
      if (opts.closeOnEof) stdin.end();
      resolve('eof');
    };
    const cleanup = (): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('close', onEnd);
    };
    stdin.on('error', () => undefined);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('close', onEnd);
    // The connection is held paused until someone consumes it (api/hijack.ts).
    input.resume();
  });
}

/** Logs and attach for containers: output comes from the log file conmon writes. */
export class ContainerIO {
  constructor(
    private readonly svc: ContainerService,
    private readonly runtime: RuntimePort,
    private readonly logFiles: (id: string) => Promise<string[]>,
    private readonly log: Logger,
  ) {}

  async *logs(ref: string, opts: LogsOptions, signal: AbortSignal): AsyncGenerator<Buffer> {
    const rec = this.svc.store.get(ref);
    if (rec.HostConfig.LogConfig?.Type === 'none' || !rec.LogPath) {
      throw invalidArgument('configured logging driver does not support reading');
    }
    const tty = rec.Config.Tty ?? false;
    const exit = opts.follow && rec.State.Running ? this.svc.nextExit(rec.Id) : undefined;
    try {
      const entries = readLogs(await this.logFiles(rec.Id), {
        ...opts,
        stopped: () => (exit ? exit.promise : true),
        signal,
      });
      for await (const e of entries) yield frame(tty, e);
    } finally {
      exit?.cancel();
    }
  }

  /**
   * Attach: replay logs if asked, then stream output until the container's run ends, and feed
   * stdin to it. The connection closes when the run ends, on detach keys, or when the client goes.
   */
  async attach(ref: string, opts: AttachOptions, conn: Conn): Promise<void> {
    const rec = this.svc.store.get(ref);
    const id = rec.Id;
    const tty = rec.Config.Tty ?? false;
    const abort = new AbortController();
    const attachedAt = Date.now() / 1000;
    this.svc.emit(rec, 'attach');
    const exit = this.svc.nextExit(id);
    void conn.closed.then(() => abort.abort());
    let detached = false;

    if (opts.stdin && conn.input && rec.Config.OpenStdin) {
      const input = conn.input;
      const started = this.svc.nextStart(id);
      void Promise.race([started.promise, conn.closed]).then(async () => {
        started.cancel();
        if (abort.signal.aborted) return;
        let stdin: Writable;
        try {
          stdin = await this.runtime.openStdin(id);
        } catch (err) {
          this.log.warn({ err, container: id }, 'cannot open container stdin');
          return;
        }
        const how = await pumpStdin(input, stdin, {
          detachKeys: opts.detachKeys,
          closeOnEof: rec.Config.StdinOnce ?? false,
        });
        if (how === 'detach') {
          detached = true;
          stdin.destroy();
          abort.abort();
          conn.end();
        } else if (!rec.Config.StdinOnce) {
          // As Docker: a client that closes its stdin on a container that keeps stdin open
          // ends its own attach (output too); the container and its stdin live on.
          stdin.destroy();
          abort.abort();
        }
      });
    } else if (conn.input) {
      // Nothing to forward, but keep reading so a half-close is noticed and buffers drain.
      conn.input.resume?.();
    }

    const wantOutput = opts.stdout || opts.stderr;
    try {
      if (wantOutput) {
        // With --log-driver none conmon still writes a small discard file: attach reads it.
        const files = rec.LogPath
          ? await this.logFiles(id)
          : [path.join(this.svc.bundleDir(id), 'discard.log')];
        if (opts.logs) {
          for await (const e of readLogs(files, {
            follow: false,
            stdout: opts.stdout,
            stderr: opts.stderr,
            timestamps: false,
            until: attachedAt,
            stopped: () => true,
            signal: abort.signal,
          })) {
            await write(conn.output, frame(tty, e));
          }
        }
        if (opts.stream) {
          for await (const e of readLogs(files, {
            follow: true,
            since: attachedAt,
            stdout: opts.stdout,
            stderr: opts.stderr,
            timestamps: false,
            stopped: () => exit.promise,
            signal: abort.signal,
          })) {
            await write(conn.output, frame(tty, e));
          }
        }
      } else if (opts.stream) {
        await Promise.race([exit.promise, conn.closed]);
      }
    } catch (err) {
      if (!abort.signal.aborted) this.log.warn({ err, container: id }, 'attach stream failed');
    } finally {
      exit.cancel();
      if (!detached) conn.end();
    }
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const rec = this.svc.store.get(ref);
    // As dockerd (errNotRunning): a conflict with the container's state, not a bad request.
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    await this.runtime.resize(rec.Id, height, width);
  }
}
