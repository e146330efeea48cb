import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

import { internal } from '../common/index.js';

export interface StdinAttachment {
  /** Bytes written here reach the container's stdin. */
  stdin: Writable;
  /**
   * End our side: conmon sees EOF on the attach socket and closes the container's stdin,
   * unless the container was started with stdinOnce false (--leave-stdin-open).
   */
  close(): Promise<void>;
  /** Settles when the helper exits: resolves on a clean exit, rejects if it could not connect. */
  closed: Promise<void>;
}

/** socat argv: stdio ↔ a SOCK_SEQPACKET (type=5) unix socket. */
export function socatStdinArgs(socketPath: string): string[] {
  // Each side's EOF is passed on as shutdown(SHUT_WR); -t bounds how long socat keeps
  // draining the other direction afterwards.
  return ['-t', '1', '-', `UNIX-CONNECT:${socketPath},type=5`];
}

/**
 * Feed a container's stdin through conmon's attach socket. Node cannot open SOCK_SEQPACKET
 * sockets, so a socat child bridges a pipe to it. What conmon sends back (the container's
 * output, framed per packet) goes to socat's /dev/null stdout, so conmon never blocks on us;
 * output is read from the log file instead.
 */
export function attachStdin(socketPath: string, socatBinary = 'socat'): StdinAttachment {
  const child = spawn(socatBinary, socatStdinArgs(socketPath), {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => stderr.push(b));
  child.stdin!.on('error', () => {
    /* socat gone: reported through `closed` */
  });
  const closed = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(internal(`attach ${socketPath}: ${err.message}`, err)));
    child.on('close', (code, sig) => {
      if (code === 0 || sig === 'SIGTERM') resolve();
      else
        reject(
          internal(
            `attach ${socketPath}: ${Buffer.concat(stderr).toString().trim() || `exit ${code}`}`,
          ),
        );
    });
  });
  closed.catch(() => {
    /* observed by callers that await it */
  });
  return {
    stdin: child.stdin!,
    closed,
    close: async () => {
      child.stdin!.end();
      await closed;
    },
  };
}
