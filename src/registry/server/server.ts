/**
 * The registry's HTTP(S) server: parse the route, authenticate, dispatch, and write errors in
 * the distribution format in one place. Handlers only parse, call the store, and serialise.
 */
import { promises as fsp } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';

import { errorKind, errorMessage, type Logger } from '../../common/index.js';
import { Authenticator, Htpasswd, type AuthOptions } from './auth.js';
import * as blobs from './blob-handlers.js';
import { empty, json, type RequestContext } from './context.js';
import { regErr, RegistryError } from './errors.js';
import { lockRoot } from './lock.js';
import * as manifests from './manifest-handlers.js';
import { matchRoute, METHODS, routeRepo, type Route } from './routes.js';
import { neededAccess } from './scope.js';
import { RegistryStore } from './store.js';
import { Uploads } from './uploads.js';

export interface RegistryServerOptions {
  /** host:port to listen on; port 0 picks a free one. */
  addr: string;
  root: string;
  logger: Logger;
  auth: AuthOptions;
  tls?: { certFile: string; keyFile: string };
  /** Blob bodies through O_DIRECT where the filesystem allows (direct-io.ts); default true. */
  directIo?: boolean;
}

export interface RegistryServer {
  /** Where it listens, e.g. http://127.0.0.1:5000. */
  readonly url: string;
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr) ?? /^()()(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid address ${JSON.stringify(addr)}: want host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in ${addr}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

async function dispatch(ctx: RequestContext, route: Route): Promise<void> {
  const m = ctx.req.method ?? 'GET';
  switch (route.kind) {
    case 'base':
      return json(ctx.res, 200, {});
    case 'catalog':
      return manifests.catalog(ctx);
    case 'tags':
      return manifests.listTags(ctx, route.repo);
    case 'referrers':
      return manifests.referrers(ctx, route.repo, route.digest);
    case 'manifest':
      if (m === 'PUT') return manifests.putManifest(ctx, route.repo, route.ref);
      if (m === 'DELETE') return manifests.deleteManifest(ctx, route.repo, route.ref);
      return manifests.getManifest(ctx, route.repo, route.ref);
    case 'blob':
      if (m === 'DELETE') return blobs.deleteBlob(ctx, route.repo, route.digest);
      return blobs.getBlob(ctx, route.repo, route.digest);
    case 'uploads':
      return blobs.startUpload(ctx, route.repo);
    case 'upload':
      if (m === 'PATCH') return blobs.patchUpload(ctx, route.repo, route.id);
      if (m === 'PUT') return blobs.putUpload(ctx, route.repo, route.id);
      if (m === 'DELETE') return blobs.cancelUpload(ctx, route.repo, route.id);
      return blobs.uploadStatus(ctx, route.repo, route.id);
  }
}

function isDisconnect(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ERR_STREAM_DESTROYED' ||
    (err as Error)?.message === 'aborted'
  );
}

export async function startRegistry(opts: RegistryServerOptions): Promise<RegistryServer> {
  const { logger } = opts;
  const { host, port } = splitAddr(opts.addr);
  const lock = await lockRoot(opts.root, 'starting another server');
  let server: http.Server | undefined;
  try {
    const store = await RegistryStore.open(opts.root);
    const directIo = opts.directIo ?? true;
    const uploads = new Uploads(store, logger, directIo);
    const htpasswd = opts.auth.htpasswdFile
      ? await Htpasswd.load(opts.auth.htpasswdFile, logger)
      : undefined;
    const auth = new Authenticator(opts.auth, htpasswd);
    const secure = opts.tls !== undefined;

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const started = performance.now();
      res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
      const url = new URL(req.url ?? '/', 'http://registry');
      try {
        if (url.pathname === '/token') {
          let params = url.searchParams;
          if (req.method === 'POST') {
            const body = await readForm(req);
            params = new URLSearchParams(body);
          } else if (req.method !== 'GET') {
            throw regErr('UNSUPPORTED', 'method not allowed', undefined, 405);
          }
          let body: object;
          try {
            body = await auth.token(params, req.headers.authorization);
          } catch (err) {
            // A refused login says how to log in: Basic credentials, in our realm.
            if (err instanceof RegistryError && err.status === 401) {
              res.setHeader('WWW-Authenticate', `Basic realm="${opts.auth.realm}"`);
            }
            throw err;
          }
          json(res, 200, body);
          return;
        }
        if (url.pathname === '/') {
          // Health checks probe the root, as registry:2 answers it.
          empty(res, 200);
          return;
        }
        const route = matchRoute(url.pathname);
        if (!route) {
          json(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'page not found' }] });
          return;
        }
        const method = req.method ?? 'GET';
        if (!METHODS[route.kind].includes(method)) {
          throw regErr('UNSUPPORTED', `${method} is not supported here`, undefined, 405);
        }
        const outcome = await auth.check(
          req,
          neededAccess(method, { repo: routeRepo(route), catalog: route.kind === 'catalog' }),
          secure,
        );
        if (!outcome.ok) {
          res.setHeader('WWW-Authenticate', outcome.challenge);
          throw outcome.error;
        }
        await dispatch({ req, res, url, auth: outcome, store, uploads, logger, directIo }, route);
      } catch (err) {
        writeError(req, res, err, logger);
      } finally {
        logger.info(
          {
            method: req.method,
            path: url.pathname,
            status: res.statusCode,
            ms: Math.round(performance.now() - started),
          },
          'registry: request',
        );
      }
    };

    const listener = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
    if (opts.tls) {
      const [cert, key] = await Promise.all([
        fsp.readFile(opts.tls.certFile),
        fsp.readFile(opts.tls.keyFile),
      ]);
      server = https.createServer({ cert, key }, listener);
    } else {
      server = http.createServer(listener);
    }
    // A layer upload may take as long as it takes; only the headers have a deadline.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 30_000;
    const srv = server;
    const sockets = new Set<net.Socket>();
    srv.on(opts.tls ? 'secureConnection' : 'connection', (s: net.Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    srv.on('clientError', (err, socket) => {
      if (!isDisconnect(err)) logger.debug({ err: errorMessage(err) }, 'registry: client error');
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    const address = srv.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `${secure ? 'https' : 'http'}://${shownHost}:${address.port}`;
    return {
      url,
      address,
      async close() {
        await new Promise<void>((resolve) => {
          srv.close(() => resolve());
          srv.closeIdleConnections();
          // In-flight requests get a moment; then their sockets go.
          setTimeout(() => sockets.forEach((s) => s.destroy()), 2_000).unref();
        });
        await uploads.close();
        lock.close();
      },
    };
  } catch (err) {
    server?.close();
    lock.close();
    throw err;
  }
}

async function readForm(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > 64 * 1024) throw regErr('UNSUPPORTED', 'form too large', undefined, 413);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function writeError(req: IncomingMessage, res: ServerResponse, err: unknown, logger: Logger): void {
  if (isDisconnect(err)) {
    // The client went away mid-request: nothing to answer, nothing to log as a failure.
    res.destroy();
    return;
  }
  let e: RegistryError;
  if (err instanceof RegistryError) e = err;
  else {
    const kind = errorKind(err);
    e =
      kind === 'invalid-argument'
        ? regErr('BLOB_UPLOAD_INVALID', errorMessage(err))
        : regErr('UNKNOWN', errorMessage(err), undefined, 500);
  }
  if (e.status >= 500) logger.error({ err, path: req.url }, 'registry: request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (req.method === 'HEAD') {
    res.writeHead(e.status, { 'Content-Length': '0' });
    res.end();
    return;
  }
  json(res, e.status, e.body());
}
