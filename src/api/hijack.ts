import type { Readable, Writable } from 'node:stream';

import type { RequestContext } from './router.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** A hijacked (or streamed) attach/exec connection: output to the client, input from it. */
export interface Hijacked {
  output: Writable;
  /** The client's stdin; present only on a real hijack (Upgrade). */
  input?: Readable;
  /** Resolves when the client goes away. */
  closed: Promise<void>;
  end(): void;
}

/**
 * Take over the connection for a raw stream as Docker does: `101 UPGRADED` when the client
 * asked for `Upgrade: tcp`, otherwise a plain 200 whose body is the stream.
 */
export function hijack(ctx: RequestContext, contentType: string): Hijacked {
  if (ctx.upgrade) {
    const { socket, head } = ctx.upgrade;
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    // Node leaves an upgraded socket flowing with no 'data' listener: stdin that arrives
    // before the container's stdin is open (and the client's EOF) would be dropped. Hold it.
    socket.pause();
    if (head.length > 0) socket.unshift(head);
    const closed = new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
    });
    return {
      output: socket,
      input: socket,
      closed,
      end: () => {
        socket.end();
      },
    };
  }
  const { res, req } = ctx;
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  const closed = new Promise<void>((resolve) => {
    res.once('close', () => resolve());
  });
  return {
    output: res,
    input: req.readableEnded ? undefined : req,
    closed,
    end: () => res.end(),
  };
}
