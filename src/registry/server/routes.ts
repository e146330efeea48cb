/**
 * The distribution API's URL space. Repository names hold slashes, so a path is matched from
 * its end: the longest name that leaves a known suffix wins (as the reference registry does).
 */
import { regErr } from './errors.js';
import { isRepositoryName } from './names.js';

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; repo: string }
  | { kind: 'manifest'; repo: string; ref: string }
  | { kind: 'blob'; repo: string; digest: string }
  | { kind: 'uploads'; repo: string }
  | { kind: 'upload'; repo: string; id: string }
  | { kind: 'referrers'; repo: string; digest: string };

const REPO_ROUTE =
  /^\/v2\/(.+)\/(?:(tags)\/list|(manifests)\/([^/]+)|(blobs)\/uploads\/([^/]*)|(blobs)\/([^/]+)|(referrers)\/([^/]+))$/;

/** Which methods each route answers; anything else is 405 UNSUPPORTED. */
export const METHODS: Record<Route['kind'], readonly string[]> = {
  base: ['GET', 'HEAD'],
  catalog: ['GET'],
  tags: ['GET'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  uploads: ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  referrers: ['GET'],
};

/**
 * The route of a path, undefined when it is none of the API's. A path that has the shape of
 * a repository route but an invalid name is NAME_INVALID.
 */
export function matchRoute(pathname: string): Route | undefined {
  if (pathname === '/v2/' || pathname === '/v2') return { kind: 'base' };
  if (pathname === '/v2/_catalog') return { kind: 'catalog' };
  const m = REPO_ROUTE.exec(pathname);
  if (!m) return undefined;
  const repo = m[1]!;
  if (!isRepositoryName(repo))
    throw regErr('NAME_INVALID', 'invalid repository name', { name: repo });
  const dec = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (m[2]) return { kind: 'tags', repo };
  if (m[3]) return { kind: 'manifest', repo, ref: dec(m[4]!) };
  if (m[5]) return m[6] ? { kind: 'upload', repo, id: m[6] } : { kind: 'uploads', repo };
  if (m[7]) return { kind: 'blob', repo, digest: dec(m[8]!) };
  return { kind: 'referrers', repo, digest: dec(m[10]!) };
}

export function routeRepo(r: Route): string | undefined {
  return 'repo' in r ? r.repo : undefined;
}
