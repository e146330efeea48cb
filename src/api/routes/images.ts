import { parseFilters } from '../../api-types/index.js';
import { invalidArgument, notImplemented } from '../../common/index.js';
import { qbool, readJsonBody, sendJson } from '../http.js';
import type { Route } from '../router.js';
import type { ImagesBackend } from './backend.js';
import { distributionRoutes, pullHandler } from './distribution.js';
import { saveLoadRoutes } from './saveload.js';

export function imageRoutes(b: ImagesBackend): Route[] {
  return [
    ...distributionRoutes(b),
    ...saveLoadRoutes(b),
    {
      method: 'POST',
      path: '/commit',
      handler: async (ctx) => {
        const q = ctx.query;
        const container = q.get('container');
        if (!container) throw invalidArgument('container is required');
        const body = await readJsonBody<unknown>(ctx.req);
        if (body != null && (typeof body !== 'object' || Array.isArray(body)))
          throw invalidArgument('invalid container config: expected a JSON object');
        const result = await b.commit({
          container,
          repo: q.get('repo') || undefined,
          tag: q.get('tag') || undefined,
          comment: q.get('comment') || undefined,
          author: q.get('author') || undefined,
          // As dockerd: pause unless pause=0/false is given.
          pause: q.get('pause') === null ? true : qbool(q, 'pause'),
          changes: q
            .getAll('changes')
            .flatMap((c) => c.split('\n'))
            .filter((c) => c.trim()),
          config: (body ?? undefined) as Record<string, unknown> | undefined,
        });
        sendJson(ctx.res, 201, result);
      },
    },
    {
      method: 'POST',
      path: '/images/prune',
      handler: async (ctx) =>
        sendJson(ctx.res, 200, await b.prune(parseFilters(ctx.query.get('filters')))),
    },
    {
      method: 'GET',
      path: '/images/json',
      handler: async (ctx) =>
        sendJson(
          ctx.res,
          200,
          await b.list({
            all: qbool(ctx.query, 'all'),
            filters: parseFilters(ctx.query.get('filters')),
          }),
        ),
    },
    {
      method: 'POST',
      path: '/images/create',
      handler: async (ctx) => {
        const q = ctx.query;
        if (q.get('fromImage')) return pullHandler(b, ctx);
        const src = q.get('fromSrc');
        if (src === null) throw invalidArgument('fromImage or fromSrc is required');
        if (src !== '-')
          throw notImplemented(
            'importing from a URL is not supported yet; pipe the archive on stdin',
          );
        const repo = q.get('repo') ?? '';
        const tag = q.get('tag') ?? '';
        const ref = repo ? (tag ? `${repo}:${tag}` : repo) : undefined;
        const { res } = ctx;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        try {
          const { id } = await b.import(ctx.req, {
            ref,
            changes: q.getAll('changes'),
            message: q.get('message') ?? undefined,
          });
          res.end(JSON.stringify({ status: id }) + '\r\n');
        } catch (err) {
          const message = (err as Error).message;
          res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\r\n');
        }
      },
    },
    {
      method: 'GET',
      path: '/images/{name:.+}/json',
      handler: async (ctx) => sendJson(ctx.res, 200, await b.inspect(ctx.params.name!)),
    },
    {
      method: 'GET',
      path: '/images/{name:.+}/history',
      handler: async (ctx) => sendJson(ctx.res, 200, await b.history(ctx.params.name!)),
    },
    {
      method: 'POST',
      path: '/images/{name:.+}/tag',
      handler: async (ctx) => {
        const repo = ctx.query.get('repo');
        if (!repo) throw invalidArgument('repository name must have at least one component');
        await b.tag(ctx.params.name!, repo, ctx.query.get('tag') ?? undefined);
        ctx.res.writeHead(201).end();
      },
    },
    {
      method: 'DELETE',
      path: '/images/{name:.+}',
      handler: async (ctx) =>
        sendJson(
          ctx.res,
          200,
          await b.remove(ctx.params.name!, {
            force: qbool(ctx.query, 'force'),
            noprune: qbool(ctx.query, 'noprune'),
          }),
        ),
    },
  ];
}
