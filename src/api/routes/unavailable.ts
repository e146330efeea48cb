import { notImplemented, unavailable } from '../../common/index.js';
import { sendJson } from '../http.js';
import type { Route } from '../router.js';

const SWARM =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

const swarm = (): never => {
  throw unavailable(SWARM);
};

/**
 * Endpoints whose feature Wharf does not offer (yet): they answer as Docker does when the
 * feature is unavailable, never with an empty 200.
 */
export function unavailableRoutes(): Route[] {
  const routes: Route[] = [];
  for (const base of ['/swarm', '/nodes', '/services', '/tasks', '/secrets', '/configs']) {
    for (const method of ['GET', 'POST', 'DELETE', 'PUT']) {
      routes.push({ method, path: base, handler: swarm });
      routes.push({ method, path: `${base}/{rest:.+}`, handler: swarm });
    }
  }
  const later = (what: string) => (): never => {
    throw notImplemented(`${what} is not supported by this Wharf daemon yet`);
  };
  routes.push({ method: 'GET', path: '/containers/{id}/stats', handler: later('container stats') });
  routes.push({ method: 'GET', path: '/plugins', handler: (ctx) => sendJson(ctx.res, 200, []) });
  routes.push({ method: 'POST', path: '/session', handler: later('BuildKit sessions') });
  return routes;
}
