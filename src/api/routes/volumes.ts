import { parseFilters, type VolumeCreateOptions } from '../../api-types/index.js';
import { invalidArgument } from '../../common/index.js';
import { qbool, readJsonBody, sendJson, sendNoContent } from '../http.js';
import type { Route } from '../router.js';
import { compareVersions } from '../version.js';
import type { VolumesBackend } from './backend.js';

const isStringMap = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  (typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.values(v as object).every((x) => typeof x === 'string'));

/** Check the body's JSON types as Docker's decoder would. */
function createBody(raw: unknown): VolumeCreateOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument('json: cannot unmarshal into Go value of type volume.CreateOptions');
  const b = raw as Record<string, unknown>;
  for (const key of ['Name', 'Driver'] as const) {
    if (b[key] !== undefined && b[key] !== null && typeof b[key] !== 'string')
      throw invalidArgument(
        `json: cannot unmarshal ${typeof b[key]} into Go struct field CreateOptions.${key} of type string`,
      );
  }
  for (const key of ['DriverOpts', 'Labels'] as const) {
    if (!isStringMap(b[key]))
      throw invalidArgument(
        `json: cannot unmarshal into Go struct field CreateOptions.${key} of type map[string]string`,
      );
  }
  return b as VolumeCreateOptions;
}

/** /volumes: the route table (moby daemon/server/router/volume). */
export function volumeRoutes(b: VolumesBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/volumes',
      handler: (ctx) => sendJson(ctx.res, 200, b.list(parseFilters(ctx.query.get('filters')))),
    },
    {
      method: 'POST',
      path: '/volumes/create',
      handler: async (ctx) => {
        const body = createBody(await readJsonBody<unknown>(ctx.req));
        sendJson(ctx.res, 201, await b.create(body));
      },
    },
    {
      method: 'POST',
      path: '/volumes/prune',
      handler: async (ctx) =>
        sendJson(
          ctx.res,
          200,
          await b.prune(parseFilters(ctx.query.get('filters')), {
            // API 1.42 made pruning named volumes opt-in (filter all=true).
            allByDefault: compareVersions(ctx.version, '1.42') < 0,
          }),
        ),
    },
    {
      method: 'GET',
      path: '/volumes/{name}',
      handler: (ctx) => sendJson(ctx.res, 200, b.inspect(ctx.params.name!)),
    },
    {
      method: 'DELETE',
      path: '/volumes/{name}',
      handler: async (ctx) => {
        await b.remove(ctx.params.name!, { force: qbool(ctx.query, 'force') });
        sendNoContent(ctx.res);
      },
    },
  ];
}
