/**
 * `POST /build`: the classic builder protocol the docker CLI speaks without BuildKit. The
 * body is the context tar; the answer a JSON message stream (`stream` text, `aux` with the
 * image ID, `errorDetail`/`error`). The 200 header goes out with the first message, so a
 * context or Dockerfile that cannot be read is a plain HTTP error, as dockerd answers it.
 */
import { parseFilters, type Filters } from '../../api-types/index.js';
import { errorMessage, invalidArgument, notImplemented } from '../../common/index.js';
import { qbool, sendJson } from '../http.js';
import { credentialsOf, decodeRegistryAuth, type AuthConfig } from '../registry-auth.js';
import type { RegistryCredentials } from './backend.js';
import type { RequestContext, Route } from '../router.js';

export type BuildStreamEvent =
  { stream: string } | { aux: { ID: string } } | { progress: Record<string, unknown> };

export interface BuildRequest {
  context: NodeJS.ReadableStream & import('node:stream').Readable;
  dockerfile: string;
  tags: string[];
  buildArgs: Map<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  /** X-Registry-Config: credentials by registry, for pulling base images. */
  registryAuth: Record<string, RegistryCredentials>;
  /** Limits for RUN containers (memory, memswap, cpu*, shmsize), as HostConfig fields. */
  runLimits: Record<string, number | string>;
  rm: boolean;
  forceRm: boolean;
  networkMode: string;
  extraHosts: string[];
  squash: boolean;
  /** `os/arch[/variant]` to build for. */
  platform?: string;
  /** `--secret`s by id (X-Wharf-Build-Secrets): for RUN --mount=type=secret, never stored. */
  secrets: Map<string, Buffer>;
}

/** The header `wharf build --secret` fills: base64url JSON `{"<id>": "<base64 value>"}`. */
export const SECRETS_HEADER = 'x-wharf-build-secrets';
/** BuildKit's limit for one secret (500 KB). */
export const MAX_SECRET_SIZE = 500 * 1024;

/** The build's secrets from their header; the values are never logged nor echoed. */
export function parseSecrets(header: string | string[] | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (header === undefined || header === '') return out;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(String(header), 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument(`invalid ${SECRETS_HEADER} header: not base64-encoded JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw invalidArgument(`invalid ${SECRETS_HEADER} header: expected a JSON object`);
  for (const [id, value] of Object.entries(v)) {
    if (id === '' || typeof value !== 'string')
      throw invalidArgument(`invalid ${SECRETS_HEADER} header: bad entry for secret "${id}"`);
    const bytes = Buffer.from(value, 'base64');
    if (bytes.length > MAX_SECRET_SIZE)
      throw invalidArgument(`secret ${id} too big. max size 500KB`);
    out.set(id, bytes);
  }
  return out;
}

export interface BuildBackend {
  build(o: BuildRequest, emit: (e: BuildStreamEvent) => void, signal: AbortSignal): Promise<string>;
  /** Remove build cache records (`docker builder prune`): BuildKit's rules, as dockerd. */
  prune(o: BuildPruneRequest): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }>;
}

export interface BuildPruneRequest {
  /** Also records an image shares. */
  all: boolean;
  /** until/unused-for, id, parent, type, description, inuse, shared, private (label ignored). */
  filters: Filters;
  /** Bytes the cache may keep; 0 for no limit. */
  keepStorage: number;
}

function jsonMap(ctx: RequestContext, name: string): Record<string, unknown> {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw invalidArgument(`invalid ${name}: ${errorMessage(err)}`);
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw invalidArgument(`invalid ${name}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** The resource query parameters of /build, for the RUN containers' HostConfig. */
function runLimits(q: URLSearchParams): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const num = (param: string, field: string): void => {
    const v = q.get(param);
    if (v === null || v === '') return;
    const n = Number(v);
    if (!Number.isInteger(n)) throw invalidArgument(`invalid ${param}: ${v}`);
    if (n !== 0) out[field] = n;
  };
  num('memory', 'Memory');
  num('memswap', 'MemorySwap');
  num('cpushares', 'CpuShares');
  num('cpuperiod', 'CpuPeriod');
  num('cpuquota', 'CpuQuota');
  num('shmsize', 'ShmSize');
  for (const [param, field] of [
    ['cpusetcpus', 'CpusetCpus'],
    ['cpusetmems', 'CpusetMems'],
  ] as const) {
    const v = q.get(param);
    if (v) out[field] = v;
  }
  return out;
}

/** `POST /build/prune`'s query, as dockerd reads it. */
export function parsePrune(q: URLSearchParams): BuildPruneRequest {
  const raw = q.get('keep-storage') || '0';
  // Go's strconv.Atoi: an optional sign and decimal digits.
  if (!/^[+-]?\d+$/.test(raw))
    throw invalidArgument(
      `keep-storage is in bytes and expects an integer, got ${raw}: strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`,
    );
  return {
    all: qbool(q, 'all'),
    filters: parseFilters(q.get('filters')),
    keepStorage: Math.max(0, Number(raw)),
  };
}

function parseRequest(ctx: RequestContext): BuildRequest {
  const q = ctx.query;
  if (q.get('version') === '2')
    throw notImplemented('BuildKit (version=2) is not supported; use the classic builder');
  if (q.get('remote')) throw notImplemented('building from a remote context is not supported yet');
  const buildArgs = new Map<string, string | null>();
  for (const [k, v] of Object.entries(jsonMap(ctx, 'buildargs'))) {
    if (v !== null && typeof v !== 'string') throw invalidArgument(`invalid buildargs: ${k}`);
    buildArgs.set(k, v);
  }
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(jsonMap(ctx, 'labels'))) {
    if (typeof v !== 'string') throw invalidArgument(`invalid labels: ${k}`);
    labels[k] = v;
  }
  // The docker CLI sends every credential it has, keyed by registry, base64 JSON.
  const registryAuth: Record<string, RegistryCredentials> = {};
  const header = ctx.req.headers['x-registry-config'];
  let configs: Record<string, AuthConfig>;
  try {
    configs = (decodeRegistryAuth(typeof header === 'string' ? header : undefined) ?? {}) as Record<
      string,
      AuthConfig
    >;
  } catch {
    throw invalidArgument('invalid X-Registry-Config header: not base64-encoded JSON');
  }
  for (const [server, auth] of Object.entries(configs)) {
    const creds = auth && typeof auth === 'object' ? credentialsOf(auth) : undefined;
    if (creds) registryAuth[server] = creds;
  }
  const network = q.get('networkmode') || 'default';
  return {
    context: ctx.req,
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    tags: q.getAll('t').filter((t) => t !== ''),
    buildArgs,
    labels,
    ...(q.get('target') ? { target: q.get('target')! } : {}),
    noCache: qbool(q, 'nocache'),
    // `pull` is a bool for the classic builder (BuildKit's "force pull" takes any value).
    pull: qbool(q, 'pull'),
    registryAuth,
    runLimits: runLimits(q),
    // As dockerd: intermediate containers are removed unless rm=0.
    rm: q.get('rm') === null ? true : qbool(q, 'rm'),
    forceRm: qbool(q, 'forcerm'),
    networkMode: network === 'default' ? 'bridge' : network,
    extraHosts: q
      .getAll('extrahosts')
      .flatMap((h) => h.split(','))
      .filter((h) => h !== ''),
    squash: qbool(q, 'squash'),
    // Checked by the builder (it knows platforms), before the stream starts.
    ...(q.get('platform') ? { platform: q.get('platform')! } : {}),
    secrets: parseSecrets(ctx.req.headers[SECRETS_HEADER]),
  };
}

export function buildRoutes(b: BuildBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/build/prune',
      handler: async (ctx) => sendJson(ctx.res, 200, await b.prune(parsePrune(ctx.query))),
    },
    {
      method: 'POST',
      path: '/build',
      handler: async (ctx) => {
        const req = parseRequest(ctx);
        const quiet = qbool(ctx.query, 'q');
        const { res } = ctx;
        let started = false;
        const line = (m: unknown): void => {
          if (!started) {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            started = true;
          }
          if (!res.destroyed) res.write(JSON.stringify(m) + '\r\n');
        };
        const abort = new AbortController();
        res.on('close', () => {
          if (!res.writableFinished) abort.abort();
        });
        try {
          const id = await b.build(
            req,
            (e) => {
              if (quiet && !('aux' in e)) return;
              line('progress' in e ? e.progress : e);
            },
            abort.signal,
          );
          // With -q the CLI prints what the stream says: just the image ID.
          if (quiet) line({ stream: `${id}\n` });
        } catch (err) {
          // Drain what the client still sends, so it reads our answer instead of a reset.
          ctx.req.resume();
          if (!started) throw err;
          const message = errorMessage(err);
          const code = (err as { exitCode?: unknown }).exitCode;
          line({
            errorDetail: { ...(typeof code === 'number' ? { code } : {}), message },
            error: message,
          });
        }
        if (!started) res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end();
      },
    },
  ];
}
