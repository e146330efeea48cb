/**
 * `docker save` (`GET /images/get?names=…`, `GET /images/{name}/get`) and `docker load`
 * (`POST /images/load`). Save resolves every name before the 200, so an unknown image is a
 * plain 404; a blob failing verification mid-stream cuts the response (the client sees a
 * truncated tar). Load answers as dockerd: always 200 with a JSON message stream, errors as
 * an in-stream `errorDetail` message.
 */
import { pipeline } from 'node:stream/promises';

import { toJSONMessage } from '../../api-types/index.js';
import { errorMessage, invalidArgument } from '../../common/index.js';
import { qbool } from '../http.js';
import type { RequestContext, Route } from '../router.js';
import type { ImagesBackend } from './backend.js';

async function sendArchive(b: ImagesBackend, ctx: RequestContext, names: string[]) {
  if (names.length === 0) throw invalidArgument('no images to save');
  const tar = await b.save(names);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await pipeline(tar, ctx.res).catch((err: unknown) => {
    ctx.log.warn({ err }, 'image save ended early');
    ctx.res.destroy();
  });
}

export function saveLoadRoutes(b: ImagesBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/images/get',
      handler: (ctx) => sendArchive(b, ctx, ctx.query.getAll('names')),
    },
    {
      method: 'GET',
      path: '/images/{name:.+}/get',
      handler: (ctx) => sendArchive(b, ctx, [ctx.params.name!]),
    },
    {
      method: 'POST',
      path: '/images/load',
      handler: async (ctx) => {
        const { res } = ctx;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const line = (m: unknown): void => {
          if (!res.destroyed) res.write(JSON.stringify(m) + '\r\n');
        };
        try {
          await b.load(ctx.req, { quiet: qbool(ctx.query, 'quiet') }, (e) =>
            line(e.kind === 'stream' ? { stream: e.text } : toJSONMessage(e)),
          );
        } catch (err) {
          const message = errorMessage(err);
          ctx.log.info({ err }, 'image load failed');
          line({ errorDetail: { message }, error: message });
          // The rest of the body is not wanted; let the client finish sending it.
          ctx.req.resume();
        }
        res.end();
      },
    },
  ];
}
