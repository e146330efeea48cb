import { pipeline } from 'node:stream/promises';

import type { ContainerCreateRequest } from '../../api-types/index.js';
import { parseFilters, parseTimestamp } from '../../api-types/index.js';
import { invalidArgument } from '../../common/index.js';
import { hijack, MULTIPLEXED_STREAM, RAW_STREAM } from '../hijack.js';
import { compareVersions } from '../version.js';
import { qbool, qint, readJsonBody, sendJson, sendNoContent } from '../http.js';
import type { RequestContext, Route } from '../router.js';
import type { ContainersBackend, ExecBackend } from './backend.js';

const WAIT_CONDITIONS = new Set(['not-running', 'next-exit', 'removed']);

function stopOpts(ctx: RequestContext): { signal?: string; timeout?: number } {
  return { signal: ctx.query.get('signal') ?? undefined, timeout: qint(ctx.query, 't') };
}

function streamType(ctx: RequestContext, tty: boolean): string {
  // API < 1.42 always said raw-stream, even when the body is multiplexed.
  return tty || compareVersions(ctx.version, '1.42') < 0 ? RAW_STREAM : MULTIPLEXED_STREAM;
}

export function containerRoutes(b: ContainersBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/containers/create',
      handler: async (ctx) => {
        const body = await readJsonBody<ContainerCreateRequest>(ctx.req);
        if (!body) throw invalidArgument('config cannot be empty in order to create a container');
        sendJson(ctx.res, 201, await b.create(body, ctx.query.get('name') ?? undefined));
      },
    },
    {
      method: 'GET',
      path: '/containers/json',
      handler: async (ctx) => {
        const q = ctx.query;
        const list = await b.list({
          all: qbool(q, 'all'),
          limit: qint(q, 'limit'),
          size: qbool(q, 'size'),
          filters: parseFilters(q.get('filters')),
        });
        sendJson(ctx.res, 200, list);
      },
    },
    {
      method: 'POST',
      path: '/containers/prune',
      handler: async (ctx) =>
        sendJson(ctx.res, 200, await b.prune(parseFilters(ctx.query.get('filters')))),
    },
    {
      method: 'GET',
      path: '/containers/{id}/json',
      handler: async (ctx) =>
        sendJson(ctx.res, 200, await b.inspect(ctx.params.id!, qbool(ctx.query, 'size'))),
    },
    {
      method: 'POST',
      path: '/containers/{id}/start',
      handler: async (ctx) => {
        await b.start(ctx.params.id!);
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/stop',
      handler: async (ctx) => {
        await b.stop(ctx.params.id!, stopOpts(ctx));
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/restart',
      handler: async (ctx) => {
        await b.restart(ctx.params.id!, stopOpts(ctx));
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/kill',
      handler: async (ctx) => {
        await b.kill(ctx.params.id!, ctx.query.get('signal') || undefined);
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/wait',
      handler: async (ctx) => {
        const condition = ctx.query.get('condition') || 'not-running';
        if (!WAIT_CONDITIONS.has(condition))
          throw invalidArgument(`invalid condition: "${condition}"`);
        const abort = new AbortController();
        // Register first, then flush headers: the docker CLI starts the container only once
        // the wait's response headers have arrived.
        const pending = b.wait(ctx.params.id!, condition as 'not-running', abort.signal);
        pending.catch(() => undefined);
        ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
        ctx.res.flushHeaders();
        ctx.res.once('close', () => abort.abort(new Error('client gone')));
        try {
          const code = await pending;
          ctx.res.end(JSON.stringify({ StatusCode: code, Error: null }) + '\n');
        } catch (err) {
          if (!abort.signal.aborted) {
            ctx.res.end(
              JSON.stringify({ StatusCode: -1, Error: { Message: (err as Error).message } }) + '\n',
            );
          }
        }
      },
    },
    {
      method: 'DELETE',
      path: '/containers/{id}',
      handler: async (ctx) => {
        if (qbool(ctx.query, 'link'))
          throw invalidArgument('Conflict, cannot remove the default link name of the container');
        await b.remove(ctx.params.id!, {
          force: qbool(ctx.query, 'force'),
          volumes: qbool(ctx.query, 'v'),
        });
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/logs',
      handler: async (ctx) => {
        const q = ctx.query;
        const stdout = qbool(q, 'stdout');
        const stderr = qbool(q, 'stderr');
        if (!stdout && !stderr)
          throw invalidArgument('Bad parameters: you must choose at least one stream');
        const tailRaw = q.get('tail');
        const tail =
          tailRaw === null || tailRaw === '' || tailRaw === 'all' ? 'all' : Number(tailRaw);
        if (tail !== 'all' && !Number.isFinite(tail))
          throw invalidArgument(`invalid value for tail: ${tailRaw}`);
        const since =
          q.get('since') && q.get('since') !== '0' ? parseTimestamp(q.get('since')!) : undefined;
        const until =
          q.get('until') && q.get('until') !== '0' ? parseTimestamp(q.get('until')!) : undefined;
        const tty = b.isTty(ctx.params.id!);
        const abort = new AbortController();
        const iter = b.logs(
          ctx.params.id!,
          {
            follow: qbool(q, 'follow'),
            stdout,
            stderr,
            since,
            until,
            timestamps: qbool(q, 'timestamps'),
            tail,
          },
          abort.signal,
        );
        const { res } = ctx;
        ctx.res.once('close', () => abort.abort());
        let started = false;
        for await (const chunk of iter) {
          if (!started) {
            res.writeHead(200, { 'Content-Type': streamType(ctx, tty) });
            started = true;
          }
          if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        }
        if (!started) res.writeHead(200, { 'Content-Type': streamType(ctx, tty) });
        res.end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/attach',
      handler: async (ctx) => {
        const q = ctx.query;
        const tty = b.isTty(ctx.params.id!);
        const opts = {
          stream: qbool(q, 'stream'),
          logs: qbool(q, 'logs'),
          stdin: qbool(q, 'stdin'),
          stdout: qbool(q, 'stdout'),
          stderr: qbool(q, 'stderr'),
          detachKeys: q.get('detachKeys') ?? undefined,
        };
        const conn = hijack(ctx, streamType(ctx, tty));
        await b.attach(ctx.params.id!, opts, conn);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/resize',
      handler: async (ctx) => {
        await b.resize(ctx.params.id!, qint(ctx.query, 'h') ?? 0, qint(ctx.query, 'w') ?? 0);
        sendNoContent(ctx.res, 200);
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/top',
      handler: async (ctx) =>
        sendJson(ctx.res, 200, await b.top(ctx.params.id!, ctx.query.get('ps_args') || '-ef')),
    },
    {
      method: 'GET',
      path: '/containers/{id}/changes',
      handler: async (ctx) => sendJson(ctx.res, 200, await b.changes(ctx.params.id!)),
    },
    {
      method: 'GET',
      path: '/containers/{id}/export',
      handler: async (ctx) => {
        const tar = await b.export(ctx.params.id!);
        ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        // A client that goes away stops tar (and releases the view) through destroy().
        await pipeline(tar, ctx.res).catch((err: unknown) => {
          ctx.log.debug({ err }, 'container export ended early');
        });
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/rename',
      handler: async (ctx) => {
        await b.rename(ctx.params.id!, ctx.query.get('name') ?? '');
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/pause',
      handler: async (ctx) => {
        await b.pause(ctx.params.id!);
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/unpause',
      handler: async (ctx) => {
        await b.unpause(ctx.params.id!);
        sendNoContent(ctx.res);
      },
    },
  ];
}

export function execRoutes(containers: ContainersBackend, b: ExecBackend): Route[] {
  void containers;
  return [
    {
      method: 'POST',
      path: '/containers/{id}/exec',
      handler: async (ctx) => {
        const body = await readJsonBody<Record<string, unknown>>(ctx.req);
        if (!body) throw invalidArgument('config cannot be empty in order to create an exec');
        sendJson(ctx.res, 201, await b.create(ctx.params.id!, body));
      },
    },
    {
      method: 'POST',
      path: '/exec/{id}/start',
      handler: async (ctx) => {
        const body =
          (await readJsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: unknown }>(
            ctx.req,
            ctx.upgrade,
          )) ?? {};
        const tty = body.Tty ?? b.isTty(ctx.params.id!);
        const consoleSize = body.ConsoleSize;
        if (body.Detach) {
          await b.start(ctx.params.id!, { detach: true, tty, consoleSize });
          sendNoContent(ctx.res, 200);
          return;
        }
        // Validate before hijacking so errors are plain HTTP responses.
        b.inspect(ctx.params.id!);
        const conn = hijack(ctx, streamType(ctx, tty));
        await b.start(ctx.params.id!, { detach: false, tty, consoleSize }, conn);
      },
    },
    {
      method: 'POST',
      path: '/exec/{id}/resize',
      handler: async (ctx) => {
        await b.resize(ctx.params.id!, qint(ctx.query, 'h') ?? 0, qint(ctx.query, 'w') ?? 0);
        sendNoContent(ctx.res, 200);
      },
    },
    {
      method: 'GET',
      path: '/exec/{id}/json',
      handler: (ctx) => sendJson(ctx.res, 200, b.inspect(ctx.params.id!)),
    },
  ];
}
