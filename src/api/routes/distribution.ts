/**
 * Pull (`POST /images/create?fromImage=`), push (`POST /images/{name}/push`) and login
 * (`POST /auth`). Pull and push answer with docker's JSON progress stream; the status line
 * is written with the first message, so an error before it (unknown manifest, bad
 * credentials) is a plain HTTP error, and one after it an in-stream error message.
 */
import type { ServerResponse } from 'node:http';

import { toJSONMessage, type ProgressEvent } from '../../api-types/index.js';
import { errorKind, errorMessage, internal, invalidArgument } from '../../common/index.js';
import { readJsonBody, sendJson } from '../http.js';
import { credentialsOf, decodeRegistryAuth, type AuthConfig } from '../registry-auth.js';
import type { RequestContext, Route } from '../router.js';
import type { ImagesBackend } from './backend.js';

/** Writes progress lines, sending the 200 header with the first one. */
class ProgressStream {
  started = false;
  constructor(private readonly res: ServerResponse) {}

  write = (e: ProgressEvent): void => {
    this.line(toJSONMessage(e));
  };

  private line(m: unknown): void {
    if (!this.started) {
      this.res.writeHead(200, { 'Content-Type': 'application/json' });
      this.started = true;
    }
    if (!this.res.destroyed) this.res.write(JSON.stringify(m) + '\r\n');
  }

  /** After an error: in-stream if the stream started, else rethrown (an HTTP error). */
  fail(err: unknown): void {
    if (!this.started) throw err;
    const message = errorMessage(err);
    this.line({ errorDetail: { message }, error: message });
  }

  end(): void {
    if (!this.started) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.end();
  }
}

/** Aborts when the client goes away before the response is complete. */
function clientSignal(ctx: RequestContext): AbortSignal {
  const abort = new AbortController();
  ctx.res.on('close', () => {
    if (!ctx.res.writableFinished) abort.abort();
  });
  return abort.signal;
}

async function streamed(
  ctx: RequestContext,
  fn: (s: ProgressStream, signal: AbortSignal) => Promise<void>,
) {
  const stream = new ProgressStream(ctx.res);
  try {
    await fn(stream, clientSignal(ctx));
  } catch (err) {
    stream.fail(err);
  }
  stream.end();
}

/** POST /images/create with fromImage (called by the images route table). */
export async function pullHandler(b: ImagesBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  // For a pull, an unreadable X-Registry-Auth counts as none (as dockerd).
  let auth: AuthConfig | undefined;
  try {
    auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
  } catch {
    auth = undefined;
  }
  ctx.req.resume();
  await streamed(ctx, (s, signal) =>
    unauthorizedAs500(() =>
      b.pull(
        {
          fromImage: q.get('fromImage')!,
          tag: q.get('tag') || undefined,
          platform: q.get('platform') || undefined,
          credentials: credentialsOf(auth),
        },
        s.write,
        signal,
      ),
    ),
  );
}

/**
 * dockerd answers a pull refused by the registry with 500, not 401: a 401 from the daemon
 * makes the docker CLI prompt for a login, as if the daemon itself wanted credentials.
 */
async function unauthorizedAs500(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (errorKind(err) === 'unauthorized') throw internal(errorMessage(err), err);
    throw err;
  }
}

export function distributionRoutes(b: ImagesBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/images/{name:.+}/push',
      handler: async (ctx) => {
        const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
        const compression = ctx.query.get('compression') || undefined;
        if (compression !== undefined && compression !== 'zstd' && compression !== 'gzip') {
          throw invalidArgument(`unsupported compression "${compression}" (zstd or gzip)`);
        }
        ctx.req.resume();
        await streamed(ctx, (s, signal) =>
          b.push(
            ctx.params.name!,
            {
              tag: ctx.query.get('tag') || undefined,
              credentials: credentialsOf(auth),
              ...(compression ? { compression } : {}),
            },
            s.write,
            signal,
          ),
        );
      },
    },
    {
      method: 'POST',
      path: '/auth',
      handler: async (ctx) => {
        const body = (await readJsonBody<AuthConfig>(ctx.req)) ?? {};
        const credentials = credentialsOf(body);
        sendJson(
          ctx.res,
          200,
          await b.login({
            serverAddress: body.serveraddress ?? '',
            credentials: credentials ?? {},
          }),
        );
      },
    },
  ];
}
