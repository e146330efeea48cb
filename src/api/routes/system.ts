import { parseFilters, parseTimestamp } from '../../api-types/index.js';
import { invalidArgument } from '../../common/index.js';
import { sendJson } from '../http.js';
import type { Route } from '../router.js';
import type { SystemBackend } from './backend.js';

function ping(ctx: Parameters<Route['handler']>[0]): void {
  ctx.res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Builder-Version': '1',
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    'Content-Length': '2',
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

export function systemRoutes(b: SystemBackend): Route[] {
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    { method: 'GET', path: '/version', handler: (ctx) => sendJson(ctx.res, 200, b.version()) },
    {
      method: 'GET',
      path: '/info',
      handler: async (ctx) => sendJson(ctx.res, 200, await b.info()),
    },
    {
      method: 'GET',
      path: '/system/df',
      handler: async (ctx) => sendJson(ctx.res, 200, await b.diskUsage(ctx.query.getAll('type'))),
    },
    {
      method: 'GET',
      path: '/events',
      handler: async (ctx) => {
        const q = ctx.query;
        const since = q.get('since') ? parseTimestamp(q.get('since')!) : undefined;
        const until = q.get('until') ? parseTimestamp(q.get('until')!) : undefined;
        if (since !== undefined && until !== undefined && until < since) {
          throw invalidArgument('`since` time is after `until` time');
        }
        const filters = parseFilters(q.get('filters'));
        const { res } = ctx;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        await new Promise<void>((resolve) => {
          const unsubscribe = b.subscribe(
            { since, until, filters },
            (ev) => res.write(JSON.stringify(ev) + '\n'),
            () => {
              res.end();
              resolve();
            },
          );
          res.once('close', () => {
            unsubscribe();
            resolve();
          });
        });
      },
    },
  ];
}
