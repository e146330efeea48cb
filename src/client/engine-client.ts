import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerTopResponse,
  ContainerWaitResponse,
  DiskUsageResponse,
  EventMessage,
  ExecCreateRequest,
  ExecInspect,
  ExecStartRequest,
  FilesystemChange,
  HistoryResponseItem,
  ImageDeleteResponseItem,
  ImageInspect,
  ImageSummary,
  JSONMessage,
  SystemInfo,
  SystemVersion,
  Volume,
  EndpointConfigRequest,
  NetworkCreateRequest,
  NetworkPruneResponse,
  NetworkResource,
  VolumeCreateOptions,
  VolumeListResponse,
  VolumePruneResponse,
} from '../api-types/index.js';
import { ApiError, errorFromResponse, StreamError } from './errors.js';
import type { DaemonHost } from './host.js';
import {
  readAll,
  readJsonLines,
  Transport,
  type Hijacked,
  type Query,
  type RequestOptions,
} from './transport.js';

/** docker's AuthConfig, as sent in X-Registry-Auth and to POST /auth. */
export interface RegistryAuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

/** X-Registry-Auth: base64url of the JSON AuthConfig. */
export function encodeRegistryAuth(a: RegistryAuthConfig): string {
  return Buffer.from(JSON.stringify(a)).toString('base64url');
}

/** The newest API version this client speaks; lowered to the daemon's on first use. */
export const CLIENT_API_VERSION = '1.45';

/** Docker's filter map: `{"status": {"running": true}}`, from `key=value` strings. */
export type Filters = Record<string, Record<string, boolean>>;

export function filtersFromArgs(args: readonly string[]): Filters | undefined {
  if (args.length === 0) return undefined;
  const out: Filters = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    const key = (eq < 0 ? a : a.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : a.slice(eq + 1);
    (out[key] ??= {})[value] = true;
  }
  return out;
}

/** -1 if a < b, 0 if equal, 1 if a > b, for "1.41"-style versions. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export interface PingResult {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
}

export interface ContainerListOptions {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: Filters;
}

export interface LogsOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  tail?: string;
  details?: boolean;
}

export interface AttachOptions {
  stream?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  logs?: boolean;
  detachKeys?: string;
}

export interface ImageImportOptions {
  /** '-' to read the body, or a URL the daemon fetches. */
  fromSrc: string;
  repo?: string;
  tag?: string;
  message?: string;
  changes?: string[];
  platform?: string;
}

export interface EventsOptions {
  since?: string;
  until?: string;
  filters?: Filters;
  signal?: AbortSignal;
}

/**
 * A typed Docker Engine API client over a unix socket. Works against wharfd and dockerd.
 * Versioned paths (/v1.45/...) are negotiated down with /_ping on first use.
 */
export class EngineClient {
  private readonly transport: Transport;
  private version: Promise<string> | undefined;

  constructor(
    readonly host: DaemonHost,
    opts: { apiVersion?: string } = {},
  ) {
    this.transport = new Transport(host);
    if (opts.apiVersion) this.version = Promise.resolve(opts.apiVersion);
  }

  close(): void {
    this.transport.close();
  }

  /** The API version in use (after negotiation). */
  apiVersion(): Promise<string> {
    this.version ??= this.ping().then(
      (p) =>
        p.apiVersion && compareApiVersions(p.apiVersion, CLIENT_API_VERSION) < 0
          ? p.apiVersion
          : CLIENT_API_VERSION,
      (err: unknown) => {
        this.version = undefined;
        throw err;
      },
    );
    return this.version;
  }

  // --- plumbing -------------------------------------------------------------------------

  /**
   * Before the version is known, a request whose body can be sent twice goes out at our
   * version without a /_ping first (one round trip less for every CLI command). Every
   * response carries the daemon's Api-Version header: a daemon older than us has refused the
   * request with 400 without acting on it, so negotiate down and send it again.
   */
  private async raw(opts: RequestOptions): Promise<IncomingMessage> {
    if (this.version !== undefined || isStream(opts.body)) {
      const v = await this.apiVersion();
      return this.transport.send(`/v${v}${opts.path}`, opts);
    }
    const older = (v: unknown): v is string =>
      typeof v === 'string' &&
      /^\d+\.\d+$/.test(v) &&
      compareApiVersions(v, CLIENT_API_VERSION) < 0;
    let res: IncomingMessage;
    try {
      res = await this.transport.send(`/v${CLIENT_API_VERSION}${opts.path}`, opts);
    } catch (err) {
      const server = err instanceof ApiError ? err.serverApiVersion : undefined;
      if (!(err instanceof ApiError) || err.statusCode !== 400 || !older(server)) throw err;
      this.version ??= Promise.resolve(server);
      return this.transport.send(`/v${server}${opts.path}`, opts);
    }
    const server = res.headers['api-version'];
    this.version ??= Promise.resolve(older(server) ? server : CLIENT_API_VERSION);
    return res;
  }

  private async json<T>(opts: RequestOptions): Promise<T> {
    const res = await this.raw(opts);
    const body = await readAll(res);
    if (body.length === 0) return undefined as T;
    return JSON.parse(body.toString('utf8')) as T;
  }

  private async empty(opts: RequestOptions): Promise<void> {
    const res = await this.raw(opts);
    res.resume();
    await new Promise<void>((resolve, reject) => {
      res.on('end', resolve);
      res.on('error', reject);
    });
  }

  private async hijack(opts: RequestOptions): Promise<Hijacked> {
    // A hijack cannot be replayed: it waits for the version (set by any earlier request).
    const v = await this.apiVersion();
    return this.transport.hijack(`/v${v}${opts.path}`, opts);
  }

  // --- system ---------------------------------------------------------------------------

  async ping(): Promise<PingResult> {
    const res = await this.transport.send('/_ping', { method: 'GET', path: '/_ping' });
    res.resume();
    const h = res.headers;
    return {
      apiVersion: typeof h['api-version'] === 'string' ? h['api-version'] : undefined,
      osType: typeof h['ostype'] === 'string' ? h['ostype'] : undefined,
      experimental: h['docker-experimental'] === 'true',
    };
  }

  serverVersion(): Promise<SystemVersion> {
    return this.json({ method: 'GET', path: '/version' });
  }

  info(): Promise<SystemInfo> {
    return this.json({ method: 'GET', path: '/info' });
  }

  /** GET /events: calls `onEvent` per event; resolves when the stream ends (or is aborted). */
  async events(opts: EventsOptions, onEvent: (e: EventMessage) => void): Promise<void> {
    const res = await this.raw({
      method: 'GET',
      path: '/events',
      query: { since: opts.since, until: opts.until, filters: jsonFilters(opts.filters) },
      signal: opts.signal,
    });
    await readJsonLines<EventMessage>(res, onEvent);
  }

  // --- containers -----------------------------------------------------------------------

  containerCreate(
    body: ContainerCreateRequest,
    opts: { name?: string; platform?: string } = {},
  ): Promise<ContainerCreateResponse> {
    return this.json({
      method: 'POST',
      path: '/containers/create',
      query: { name: opts.name || undefined, platform: opts.platform || undefined },
      body,
    });
  }

  containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/containers/${enc(id)}/start`,
      query: { detachKeys: opts.detachKeys },
    });
  }

  containerStop(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/containers/${enc(id)}/stop`,
      query: { t: opts.timeout, signal: opts.signal },
    });
  }

  containerRestart(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/containers/${enc(id)}/restart`,
      query: { t: opts.timeout, signal: opts.signal },
    });
  }

  containerKill(id: string, signal?: string): Promise<void> {
    return this.empty({ method: 'POST', path: `/containers/${enc(id)}/kill`, query: { signal } });
  }

  /**
   * POST /containers/{id}/wait. Resolves (first promise) once the daemon has accepted the wait
   * (its headers arrived), so a caller can start the container without missing its exit; the
   * inner promise resolves with the exit status.
   */
  async containerWait(
    id: string,
    condition?: 'not-running' | 'next-exit' | 'removed',
  ): Promise<{ result: Promise<ContainerWaitResponse> }> {
    const res = await this.raw({
      method: 'POST',
      path: `/containers/${enc(id)}/wait`,
      query: { condition },
    });
    const result = readAll(res).then((b) => {
      const text = b.toString('utf8').trim();
      if (text === '') throw new Error('wait: the daemon closed the stream without a status');
      const parsed = JSON.parse(text) as ContainerWaitResponse & { message?: string };
      if (parsed.message !== undefined && parsed.StatusCode === undefined) {
        throw errorFromResponse(500, text);
      }
      return parsed;
    });
    return { result };
  }

  containerRemove(
    id: string,
    opts: { force?: boolean; volumes?: boolean; link?: boolean } = {},
  ): Promise<void> {
    return this.empty({
      method: 'DELETE',
      path: `/containers/${enc(id)}`,
      query: {
        force: opts.force || undefined,
        v: opts.volumes || undefined,
        link: opts.link || undefined,
      },
    });
  }

  containerList(opts: ContainerListOptions = {}): Promise<ContainerSummary[]> {
    return this.json({
      method: 'GET',
      path: '/containers/json',
      query: {
        all: opts.all || undefined,
        limit: opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined,
        size: opts.size || undefined,
        filters: jsonFilters(opts.filters),
      },
    });
  }

  containerInspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.json({
      method: 'GET',
      path: `/containers/${enc(id)}/json`,
      query: { size: opts.size || undefined },
    });
  }

  /** The raw log stream: multiplexed frames unless the container has a TTY. */
  containerLogs(id: string, opts: LogsOptions, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.raw({
      method: 'GET',
      path: `/containers/${enc(id)}/logs`,
      query: {
        follow: opts.follow || undefined,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        since: opts.since,
        until: opts.until,
        timestamps: opts.timestamps || undefined,
        tail: opts.tail,
        details: opts.details || undefined,
      },
      signal,
    });
  }

  containerAttach(id: string, opts: AttachOptions): Promise<Hijacked> {
    return this.hijack({
      method: 'POST',
      path: `/containers/${enc(id)}/attach`,
      query: {
        stream: opts.stream ?? true,
        stdin: opts.stdin ?? false,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        logs: opts.logs || undefined,
        detachKeys: opts.detachKeys,
      },
    });
  }

  containerResize(id: string, height: number, width: number): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/containers/${enc(id)}/resize`,
      query: { h: height, w: width },
    });
  }

  containerTop(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.json({
      method: 'GET',
      path: `/containers/${enc(id)}/top`,
      query: { ps_args: psArgs || undefined },
    });
  }

  /** POST /commit: the container's changes as a new image; returns its ID. */
  async containerCommit(
    container: string,
    opts: {
      repo?: string;
      tag?: string;
      comment?: string;
      author?: string;
      pause?: boolean;
      changes?: string[];
    } = {},
  ): Promise<{ Id: string }> {
    return this.json({
      method: 'POST',
      path: '/commit',
      query: {
        container,
        repo: opts.repo,
        tag: opts.tag,
        comment: opts.comment,
        author: opts.author,
        pause: opts.pause === false ? false : true,
        changes: opts.changes?.length ? opts.changes : undefined,
      },
    });
  }

  /** GET /containers/{id}/export: the response is the tar stream. */
  containerExport(id: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.raw({ method: 'GET', path: `/containers/${enc(id)}/export`, signal });
  }

  async containerChanges(id: string): Promise<FilesystemChange[]> {
    return (
      (await this.json<FilesystemChange[] | null>({
        method: 'GET',
        path: `/containers/${enc(id)}/changes`,
      })) ?? []
    );
  }

  containerRename(id: string, name: string): Promise<void> {
    return this.empty({ method: 'POST', path: `/containers/${enc(id)}/rename`, query: { name } });
  }

  containerPause(id: string): Promise<void> {
    return this.empty({ method: 'POST', path: `/containers/${enc(id)}/pause` });
  }

  containerUnpause(id: string): Promise<void> {
    return this.empty({ method: 'POST', path: `/containers/${enc(id)}/unpause` });
  }

  // --- exec -----------------------------------------------------------------------------

  execCreate(container: string, body: ExecCreateRequest): Promise<{ Id: string }> {
    return this.json({ method: 'POST', path: `/containers/${enc(container)}/exec`, body });
  }

  /** Starts an exec attached: the hijacked stream carries its stdio. */
  execStartAttached(id: string, body: ExecStartRequest): Promise<Hijacked> {
    return this.hijack({
      method: 'POST',
      path: `/exec/${enc(id)}/start`,
      body: { ...body, Detach: false },
    });
  }

  execStartDetached(id: string, body: ExecStartRequest = {}): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/exec/${enc(id)}/start`,
      body: { ...body, Detach: true },
    });
  }

  execInspect(id: string): Promise<ExecInspect> {
    return this.json({ method: 'GET', path: `/exec/${enc(id)}/json` });
  }

  execResize(id: string, height: number, width: number): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/exec/${enc(id)}/resize`,
      query: { h: height, w: width },
    });
  }

  // --- images ---------------------------------------------------------------------------

  imageList(
    opts: { all?: boolean; filters?: Filters; digests?: boolean } = {},
  ): Promise<ImageSummary[]> {
    return this.json({
      method: 'GET',
      path: '/images/json',
      query: {
        all: opts.all || undefined,
        filters: jsonFilters(opts.filters),
        digests: opts.digests || undefined,
      },
    });
  }

  imageInspect(name: string): Promise<ImageInspect> {
    return this.json({ method: 'GET', path: `/images/${encName(name)}/json` });
  }

  imageHistory(name: string): Promise<HistoryResponseItem[]> {
    return this.json({ method: 'GET', path: `/images/${encName(name)}/history` });
  }

  imageTag(source: string, repo: string, tag?: string): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/images/${encName(source)}/tag`,
      query: { repo, tag },
    });
  }

  imageRemove(
    name: string,
    opts: { force?: boolean; noprune?: boolean } = {},
  ): Promise<ImageDeleteResponseItem[]> {
    return this.json({
      method: 'DELETE',
      path: `/images/${encName(name)}`,
      query: { force: opts.force || undefined, noprune: opts.noprune || undefined },
    });
  }

  /**
   * POST /images/create?fromSrc=: imports a rootfs tarball (streamed from `body` when fromSrc
   * is '-'). Progress messages go to `onMessage`; an `error` message rejects.
   */
  async imageImport(
    opts: ImageImportOptions,
    body: Readable | Buffer | undefined,
    onMessage: (m: JSONMessage) => void = () => {},
  ): Promise<void> {
    const query: Query = {
      fromSrc: opts.fromSrc,
      repo: opts.repo,
      tag: opts.tag,
      message: opts.message,
      platform: opts.platform,
      changes: opts.changes && opts.changes.length > 0 ? opts.changes : undefined,
    };
    const res = await this.raw({ method: 'POST', path: '/images/create', query, body });
    await readJsonLines<JSONMessage>(res, (m) => {
      if (m.error || m.errorDetail?.message) {
        throw new StreamError(m.errorDetail?.message ?? m.error ?? '');
      }
      onMessage(m);
    });
  }

  // --- networks -------------------------------------------------------------------------

  networkList(opts: { filters?: Filters } = {}): Promise<NetworkResource[]> {
    return this.json({
      method: 'GET',
      path: '/networks',
      query: { filters: jsonFilters(opts.filters) },
    });
  }

  networkCreate(body: NetworkCreateRequest): Promise<{ Id: string; Warning?: string }> {
    return this.json({ method: 'POST', path: '/networks/create', body });
  }

  networkInspect(ref: string): Promise<NetworkResource> {
    return this.json({ method: 'GET', path: `/networks/${enc(ref)}` });
  }

  networkRemove(ref: string): Promise<void> {
    return this.empty({ method: 'DELETE', path: `/networks/${enc(ref)}` });
  }

  networkPrune(opts: { filters?: Filters } = {}): Promise<NetworkPruneResponse> {
    return this.json({
      method: 'POST',
      path: '/networks/prune',
      query: { filters: jsonFilters(opts.filters) },
    });
  }

  networkConnect(ref: string, container: string, config: EndpointConfigRequest): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/networks/${enc(ref)}/connect`,
      body: { Container: container, EndpointConfig: config },
    });
  }

  networkDisconnect(ref: string, container: string, force = false): Promise<void> {
    return this.empty({
      method: 'POST',
      path: `/networks/${enc(ref)}/disconnect`,
      body: { Container: container, Force: force },
    });
  }

  /** GET /images/get?names=…: the images as a tar (docker save). */
  imageSave(names: string[], signal?: AbortSignal): Promise<IncomingMessage> {
    return this.raw({ method: 'GET', path: '/images/get', query: { names }, signal });
  }

  /**
   * POST /images/load: load a tar (docker load). Messages (`stream` lines "Loaded image: …",
   * layer progress) go to `onMessage`; an error message rejects.
   */
  async imageLoad(
    body: Readable,
    opts: { quiet?: boolean },
    onMessage: (m: JSONMessage) => void = () => {},
  ): Promise<void> {
    const res = await this.raw({
      method: 'POST',
      path: '/images/load',
      query: { quiet: opts.quiet ? '1' : undefined },
      headers: { 'Content-Type': 'application/x-tar' },
      body,
    });
    await readJsonLines<JSONMessage>(res, (m) => {
      if (m.error || m.errorDetail?.message) {
        throw new StreamError(m.errorDetail?.message ?? m.error ?? '');
      }
      onMessage(m);
    });
  }

  /**
   * POST /build (the classic builder): `context` is the tar. Messages go to `onMessage`; an
   * error message rejects with a StreamError whose `exitCode` is the failed RUN's, if any.
   */
  async imageBuild(
    query: Query,
    context: Readable,
    onMessage: (m: JSONMessage) => void,
    signal?: AbortSignal,
    /** X-Registry-Config: base64 JSON of the credentials by registry, for base images. */
    registryConfig?: string,
    /** More request headers (`wharf build --secret`'s). */
    headers?: Record<string, string>,
  ): Promise<void> {
    const res = await this.raw({
      method: 'POST',
      path: '/build',
      query,
      body: context,
      headers: {
        'Content-Type': 'application/x-tar',
        ...(registryConfig ? { 'X-Registry-Config': registryConfig } : {}),
        ...headers,
      },
      signal,
    });
    await readJsonLines<JSONMessage>(res, (m) => {
      if (m.error || m.errorDetail?.message) {
        const err = new StreamError(m.errorDetail?.message ?? m.error ?? '');
        throw Object.assign(err, { exitCode: m.errorDetail?.code });
      }
      onMessage(m);
    });
  }

  /** POST /build/prune: remove build cache (`all`, `filters`, `keep-storage` as docker's). */
  buildPrune(
    opts: { all?: boolean; filters?: Filters; keepStorage?: number } = {},
  ): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    return this.json({
      method: 'POST',
      path: '/build/prune',
      query: {
        all: opts.all || undefined,
        filters: jsonFilters(opts.filters),
        'keep-storage': opts.keepStorage || undefined,
      },
    });
  }

  /** `GET /system/df`; `types` limits the parts computed (API 1.42+). */
  diskUsage(types: string[] = []): Promise<DiskUsageResponse> {
    return this.json({ method: 'GET', path: '/system/df', query: { type: types } });
  }

  // --- volumes --------------------------------------------------------------------------

  volumeList(opts: { filters?: Filters } = {}): Promise<VolumeListResponse> {
    return this.json({
      method: 'GET',
      path: '/volumes',
      query: { filters: jsonFilters(opts.filters) },
    });
  }

  volumeCreate(body: VolumeCreateOptions): Promise<Volume> {
    return this.json({ method: 'POST', path: '/volumes/create', body });
  }

  volumeInspect(name: string): Promise<Volume> {
    return this.json({ method: 'GET', path: `/volumes/${enc(name)}` });
  }

  volumeRemove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.empty({
      method: 'DELETE',
      path: `/volumes/${enc(name)}`,
      query: { force: opts.force || undefined },
    });
  }

  volumePrune(opts: { filters?: Filters } = {}): Promise<VolumePruneResponse> {
    return this.json({
      method: 'POST',
      path: '/volumes/prune',
      query: { filters: jsonFilters(opts.filters) },
    });
  }

  containerPrune(
    opts: { filters?: Filters } = {},
  ): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.json({
      method: 'POST',
      path: '/containers/prune',
      query: { filters: jsonFilters(opts.filters) },
    });
  }

  imagePrune(
    opts: { filters?: Filters } = {},
  ): Promise<{ ImagesDeleted: ImageDeleteResponseItem[] | null; SpaceReclaimed: number }> {
    return this.json({
      method: 'POST',
      path: '/images/prune',
      query: { filters: jsonFilters(opts.filters) },
    });
  }
  /**
   * POST /images/create?fromImage=: pull. `auth` is the X-Registry-Auth value (see
   * encodeRegistryAuth). Progress messages go to `onMessage`; an error message rejects.
   */
  async imagePull(
    opts: { fromImage: string; tag?: string; platform?: string },
    auth: string | undefined,
    onMessage: (m: JSONMessage) => void = () => {},
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await this.raw({
      method: 'POST',
      path: '/images/create',
      query: { fromImage: opts.fromImage, tag: opts.tag, platform: opts.platform },
      headers: auth ? { 'X-Registry-Auth': auth } : {},
      signal,
    });
    await readJsonLines<JSONMessage>(res, (m) => {
      if (m.error || m.errorDetail?.message) {
        throw new StreamError(m.errorDetail?.message ?? m.error ?? '');
      }
      onMessage(m);
    });
  }

  /** POST /images/{name}/push (`compression` is Wharf's: layers recompressed on the way). */
  async imagePush(
    name: string,
    opts: { tag?: string; compression?: string },
    auth: string | undefined,
    onMessage: (m: JSONMessage) => void = () => {},
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await this.raw({
      method: 'POST',
      path: `/images/${encName(name)}/push`,
      query: { tag: opts.tag, compression: opts.compression },
      // dockerd requires the header on push, even when there are no credentials.
      headers: { 'X-Registry-Auth': auth ?? encodeRegistryAuth({}) },
      signal,
    });
    await readJsonLines<JSONMessage>(res, (m) => {
      if (m.error || m.errorDetail?.message) {
        throw new StreamError(m.errorDetail?.message ?? m.error ?? '');
      }
      onMessage(m);
    });
  }

  /** POST /auth: the daemon checks the credentials against the registry. */
  registryLogin(body: RegistryAuthConfig): Promise<{ Status: string; IdentityToken?: string }> {
    return this.json({ method: 'POST', path: '/auth', body });
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

/** Image references keep their slashes in the path (docker does the same). */
function encName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

function jsonFilters(f: Filters | undefined): string | undefined {
  return f && Object.keys(f).length > 0 ? JSON.stringify(f) : undefined;
}

function isStream(body: unknown): boolean {
  return typeof (body as { pipe?: unknown } | undefined)?.pipe === 'function';
}
