/**
 * Client side of a hijacked attach/exec connection: stdout/stderr demultiplexed (non-TTY) or
 * raw (TTY), stdin copied in with docker's detach-key detection, the terminal put in raw mode
 * and its size kept in sync.
 */
import type { Socket } from 'node:net';

import { StreamDemuxer } from '../client/stdcopy.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** docker's detach-keys syntax: "ctrl-p,ctrl-q", "a,ctrl-@"... → bytes. */
export function parseDetachKeys(spec: string): number[] {
  return spec.split(',').map((k) => {
    const key = k.trim();
    if (key.length === 1) return key.charCodeAt(0);
    const m = /^ctrl-(.)$/.exec(key);
    if (m) {
      const c = m[1] as string;
      if (c === '@') return 0;
      if (c === '[') return 27;
      if (c === '\\') return 28;
      if (c === ']') return 29;
      if (c === '^') return 30;
      if (c === '_') return 31;
      if (/[a-z]/.test(c)) return c.charCodeAt(0) - 96;
    }
    throw new Error(`Invalid detach keys (${spec}) provided`);
  });
}

/**
 * Matches a key sequence in a byte stream, holding back bytes that may start it (as docker's
 * term.EscapeProxy): `feed` returns the bytes to forward and whether the sequence completed.
 */
export class EscapeDetector {
  private held: number[] = [];

  constructor(private readonly keys: readonly number[]) {}

  feed(chunk: Buffer): { forward: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detached: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length)
          return { forward: Buffer.from(out), detached: true };
        continue;
      }
      out.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else out.push(b);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}

export interface PumpOptions {
  socket: Socket;
  tty: boolean;
  stdin: NodeJS.ReadStream | null;
  stdout: NodeJS.WritableStream | null;
  stderr: NodeJS.WritableStream | null;
  detachKeys: string | undefined;
}

export type PumpOutcome = 'eof' | 'detached';

/** Copies both ways until the container's output ends or the user detaches. */
export function pumpHijacked(opts: PumpOptions): Promise<PumpOutcome> {
  const { socket, tty, stdin, stdout, stderr } = opts;
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (outcome: PumpOutcome): void => {
      if (finished) return;
      finished = true;
      if (stdin) {
        stdin.off('data', onInput);
        stdin.off('end', onInputEnd);
        stdin.pause();
      }
      resolve(outcome);
    };
    if (tty) {
      socket.on('data', (c: Buffer) => stdout?.write(c));
    } else {
      const demux = new StreamDemuxer((stream, payload) => {
        if (stream === 2 || stream === 3) stderr?.write(payload);
        else stdout?.write(payload);
      });
      socket.on('data', (c: Buffer) => demux.push(c));
    }
    socket.on('end', () => finish('eof'));
    socket.on('close', () => finish('eof'));
    socket.on('error', (err) => {
      if (!finished) reject(err);
    });

    const detector = new EscapeDetector(
      tty ? parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS) : [],
    );
    function onInput(chunk: Buffer | string): void {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const { forward, detached } = detector.feed(buf);
      if (forward.length > 0) socket.write(forward);
      if (detached) {
        socket.destroy();
        finish('detached');
      }
    }
    function onInputEnd(): void {
      // Half-close: the container sees EOF on stdin, its output keeps coming.
      if (!socket.destroyed) socket.end();
    }
    if (stdin) {
      stdin.on('data', onInput);
      stdin.on('end', onInputEnd);
      stdin.resume();
    }
  });
}

/** Puts the terminal in raw mode while attached with -it; returns the restore function. */
export function enterRawMode(stdin: NodeJS.ReadStream): () => void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => {};
  stdin.setRawMode(true);
  return () => {
    try {
      stdin.setRawMode(false);
    } catch {
      // The terminal went away: nothing to restore.
    }
  };
}

/** Sends the terminal size now and on every SIGWINCH; returns the unsubscribe function. */
export function followTerminalSize(
  stdout: NodeJS.WriteStream,
  resize: (h: number, w: number) => Promise<void>,
): () => void {
  if (!stdout.isTTY) return () => {};
  const send = (): void => {
    const h = stdout.rows;
    const w = stdout.columns;
    if (h && w) resize(h, w).catch(() => {});
  };
  send();
  stdout.on('resize', send);
  return () => stdout.off('resize', send);
}

const PROXIED_SIGNALS: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];

/** docker --sig-proxy: signals the CLI receives are sent to the container. */
export function proxySignals(kill: (signal: string) => Promise<void>): () => void {
  const handlers = PROXIED_SIGNALS.map((sig) => {
    const h = (): void => {
      kill(sig).catch(() => {});
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
