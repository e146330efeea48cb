import {
  parseFilters,
  type NetworkConnectRequest,
  type NetworkCreateRequest,
} from '../../api-types/index.js';
import { invalidArgument } from '../../common/index.js';
import { qbool, readJsonBody, sendJson, sendNoContent } from '../http.js';
import type { Route } from '../router.js';
import type { NetworksBackend } from './backend.js';

function objectBody<T>(raw: unknown, type: string): T {
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument(`json: cannot unmarshal into Go value of type ${type}`);
  return raw as T;
}

/** /networks: the route table (moby daemon/server/router/network). */
export function networkRoutes(b: NetworksBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/networks',
      handler: (ctx) => sendJson(ctx.res, 200, b.list(parseFilters(ctx.query.get('filters')))),
    },
    {
      method: 'POST',
      path: '/networks/create',
      handler: async (ctx) => {
        const body = objectBody<NetworkCreateRequest>(
          await readJsonBody<unknown>(ctx.req),
          'network.CreateRequest',
        );
        sendJson(ctx.res, 201, await b.create(body));
      },
    },
    {
      method: 'POST',
      path: '/networks/prune',
      handler: async (ctx) =>
        sendJson(ctx.res, 200, await b.prune(parseFilters(ctx.query.get('filters')))),
    },
    {
      method: 'GET',
      path: '/networks/{id}',
      handler: (ctx) => sendJson(ctx.res, 200, b.inspect(ctx.params.id!)),
    },
    {
      method: 'DELETE',
      path: '/networks/{id}',
      handler: async (ctx) => {
        await b.remove(ctx.params.id!);
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/networks/{id}/connect',
      handler: async (ctx) => {
        const body = objectBody<NetworkConnectRequest>(
          await readJsonBody<unknown>(ctx.req),
          'network.ConnectOptions',
        );
        if (typeof body.Container !== 'string' || body.Container === '')
          throw invalidArgument('no container specified');
        await b.connect(ctx.params.id!, body.Container, body.EndpointConfig ?? {});
        ctx.res.writeHead(200).end();
      },
    },
    {
      method: 'POST',
      path: '/networks/{id}/disconnect',
      handler: async (ctx) => {
        const body = objectBody<{ Container?: string; Force?: boolean }>(
          await readJsonBody<unknown>(ctx.req),
          'network.DisconnectOptions',
        );
        if (typeof body.Container !== 'string' || body.Container === '')
          throw invalidArgument('no container specified');
        await b.disconnect(
          ctx.params.id!,
          body.Container,
          body.Force === true || qbool(ctx.query, 'force'),
        );
        ctx.res.writeHead(200).end();
      },
    },
  ];
}
