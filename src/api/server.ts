import { promises as fsp } from 'node:fs';
import http, { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { invalidArgument, notFound, type Logger } from '../common/index.js';
import { writeError } from './errors.js';
import type { RequestContext, Router } from './router.js';
import { API_VERSION, MIN_API_VERSION, compareVersions } from './version.js';

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

export interface ApiServerOptions {
  router: Router;
  log: Logger;
  /** Headers sent on every response (Server, OSType...). */
  headers: Record<string, string>;
}

/**
 * The Engine API over node:http. Parses the version prefix, dispatches through the router and
 * maps thrown errors once (errors.ts). Upgrade requests (attach, exec start) reach the same
 * handlers with the raw socket in `ctx.upgrade`.
 */
export class ApiServer {
  readonly http: http.Server;
  private readonly opts: ApiServerOptions;
  private reqSeq = 0;
  private readonly hijacked = new Set<Duplex>();

  constructor(opts: ApiServerOptions) {
    this.opts = opts;
    // Headers up to 1 MiB as dockerd's (Go's MaxHeaderBytes): `wharf build --secret` sends
    // its secrets in one (X-Wharf-Build-Secrets), node's default being 16 KiB.
    this.http = http.createServer(
      { keepAlive: true, maxHeaderSize: 1024 * 1024 },
      (req, res) => void this.dispatch(req, res),
    );
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // A response object bound to the raw socket, so errors before the hijack are plain HTTP.
      const res = new ServerResponse(req);
      res.assignSocket(socket as never);
      socket.on('error', () => socket.destroy());
      this.hijacked.add(socket);
      socket.once('close', () => this.hijacked.delete(socket));
      // The request body (exec start's JSON) arrives on the raw socket: split it from stdin.
      void readUpgradeBody(req, socket, head).then(
        ({ body, rest }) => this.dispatch(req, res, { socket, head: rest, body }),
        () => socket.destroy(),
      );
    });
    // Docker clients keep connections open for streams (events, logs -f): no request timeout.
    this.http.requestTimeout = 0;
    this.http.headersTimeout = 60_000;
  }

  async listenUnix(socketPath: string, mode = 0o660): Promise<void> {
    await fsp.rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(socketPath, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    await fsp.chmod(socketPath, mode);
  }

  /**
   * Stop accepting connections and drop open ones. Hijacked (attach/exec) sockets are not
   * tracked by the HTTP layer, so they are tracked here; nothing may hold shutdown up.
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1000);
      this.http.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.http.closeAllConnections();
      for (const s of this.hijacked) s.destroy();
    });
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    upgrade?: { socket: Duplex; head: Buffer; body: Buffer },
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://wharf');
    let path = url.pathname;
    let version = API_VERSION;
    const m = VERSION_PREFIX.exec(path);
    if (m) {
      version = m[1]!;
      path = m[2]!;
    }
    const log = this.opts.log.child({ req: ++this.reqSeq });
    for (const [k, v] of Object.entries(this.opts.headers)) res.setHeader(k, v);
    res.setHeader('Api-Version', API_VERSION);
    log.debug({ method: req.method, url: req.url }, 'request');
    try {
      if (m && compareVersions(version, MIN_API_VERSION) < 0) {
        throw invalidArgument(
          `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
        );
      }
      if (m && compareVersions(version, API_VERSION) > 0) {
        throw invalidArgument(
          `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`,
        );
      }
      const { route, params } = this.opts.router.match(req.method ?? 'GET', path);
      if (!route) throw notFound('page not found');
      const ctx: RequestContext = {
        req,
        res,
        params,
        query: url.searchParams,
        version,
        log,
        upgrade,
      };
      await route.handler(ctx);
    } catch (err) {
      writeError(res, err, log);
      if (upgrade) upgrade.socket.end();
    }
  }
}

/** Read Content-Length bytes of body from an upgraded connection; the rest is the stream. */
async function readUpgradeBody(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length <= 0) return { body: Buffer.alloc(0), rest: head };
  if (length > 1024 * 1024) throw new Error('upgrade request body too large');
  let buf = head;
  while (buf.length < length) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (b: Buffer): void => {
        cleanup();
        socket.pause();
        resolve(b);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(null);
      };
      const cleanup = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.resume();
    });
    if (chunk === null) throw new Error('connection closed while reading the request body');
    buf = Buffer.concat([buf, chunk]);
  }
  return { body: buf.subarray(0, length), rest: buf.subarray(length) };
}
