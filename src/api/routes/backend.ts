/**
 * What the API layer needs from the engine. Routes see services only through these
 * interfaces; the daemon passes the real services (structurally typed).
 */
import type { Readable } from 'node:stream';

import type {
  AttachOptions,
  ContainerCreateRequest,
  EventMessage,
  HistoryResponseItem,
  ImageInspect,
  ImageSummary,
  LogsOptions,
  EndpointConfigRequest,
  NetworkCreateRequest,
  NetworkPruneResponse,
  NetworkResource,
  Volume,
  VolumeCreateOptions,
  VolumeListResponse,
  VolumePruneResponse,
} from '../../api-types/index.js';

export type { AttachOptions, LogsOptions };
import type { Hijacked } from '../hijack.js';
import type { ProgressEvent } from '../../api-types/index.js';

export interface ContainersBackend {
  create(body: ContainerCreateRequest, name?: string): Promise<{ Id: string; Warnings: string[] }>;
  start(ref: string): Promise<void>;
  stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  wait(
    ref: string,
    condition: 'not-running' | 'next-exit' | 'removed',
    signal?: AbortSignal,
  ): Promise<number>;
  remove(ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void>;
  list(opts: {
    all: boolean;
    limit?: number;
    size: boolean;
    filters: Map<string, string[]>;
  }): Promise<unknown[]>;
  inspect(ref: string, size: boolean): Promise<unknown>;
  isTty(ref: string): boolean;
  logs(ref: string, opts: LogsOptions, signal: AbortSignal): AsyncIterable<Buffer>;
  attach(ref: string, opts: AttachOptions, conn: Hijacked): Promise<void>;
  resize(ref: string, height: number, width: number): Promise<void>;
  top(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  changes(ref: string): Promise<Array<{ Path: string; Kind: number }>>;
  /** The container's filesystem as a tar stream. */
  export(ref: string): Promise<Readable>;
  rename(ref: string, name: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  prune(
    filters: Map<string, string[]>,
  ): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
}

export interface ExecBackend {
  create(ref: string, body: Record<string, unknown>): Promise<{ Id: string }>;
  isTty(execId: string): boolean;
  start(
    execId: string,
    opts: { detach: boolean; tty: boolean; consoleSize?: unknown },
    conn?: Hijacked,
  ): Promise<void>;
  inspect(execId: string): unknown;
  resize(execId: string, height: number, width: number): Promise<void>;
}

export interface ImagesBackend extends DistributionBackend {
  list(opts: { all: boolean; filters: Map<string, string[]> }): Promise<ImageSummary[]>;
  inspect(ref: string): Promise<ImageInspect>;
  history(ref: string): Promise<HistoryResponseItem[]>;
  tag(source: string, repo: string, tag?: string): Promise<void>;
  remove(
    ref: string,
    opts: { force: boolean; noprune: boolean },
  ): Promise<Array<Record<string, string>>>;
  import(
    body: Readable,
    opts: { ref?: string; changes: string[]; message?: string },
  ): Promise<{ id: string }>;
  prune(
    filters: Map<string, string[]>,
  ): Promise<{ ImagesDeleted: Array<Record<string, string>>; SpaceReclaimed: number }>;
  /** `docker save`: resolves every name first (errors are thrown), then streams the tar. */
  save(names: string[]): Promise<Readable>;
  /** `docker load`: progress and "Loaded image" lines go to `onEvent`. */
  load(
    body: Readable,
    opts: { quiet: boolean },
    onEvent: (e: ProgressEvent | { kind: 'stream'; text: string }) => void,
  ): Promise<void>;
  /** POST /commit: a container's changes as a new image. */
  commit(opts: {
    container: string;
    repo?: string;
    tag?: string;
    comment?: string;
    author?: string;
    pause: boolean;
    changes: string[];
    config?: Record<string, unknown>;
  }): Promise<{ Id: string }>;
}

export interface SystemBackend {
  version(): Record<string, unknown>;
  info(): Promise<Record<string, unknown>>;
  /** `GET /system/df`; `types` as given in the query (none: all). */
  diskUsage(types: string[]): Promise<Record<string, unknown>>;
  subscribe(
    opts: { since?: number; until?: number; filters: Map<string, string[]> },
    onEvent: (ev: EventMessage) => void,
    onEnd?: () => void,
  ): () => void;
}

export interface VolumesBackend {
  list(filters: Map<string, string[]>): VolumeListResponse;
  create(body: VolumeCreateOptions): Promise<Volume>;
  inspect(name: string): Volume;
  remove(name: string, opts: { force: boolean }): Promise<void>;
  /** `allByDefault`: API versions before 1.42 prune named volumes too. */
  prune(
    filters: Map<string, string[]>,
    opts: { allByDefault: boolean },
  ): Promise<VolumePruneResponse>;
}

/** Pull, push and login: images moving to and from registries. */
export interface DistributionBackend {
  /** Pull `fromImage` (+ `tag`); no tag and no digest pulls every tag. */
  pull(
    opts: {
      fromImage: string;
      tag?: string;
      platform?: string;
      credentials?: RegistryCredentials;
    },
    onProgress: (e: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  push(
    name: string,
    opts: { tag?: string; credentials?: RegistryCredentials; compression?: 'zstd' | 'gzip' },
    onProgress: (e: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** Check credentials against a registry (`POST /auth`). */
  login(opts: {
    serverAddress: string;
    credentials: RegistryCredentials;
  }): Promise<{ Status: string; IdentityToken?: string }>;
}

export interface RegistryCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface NetworksBackend {
  list(filters: Map<string, string[]>): NetworkResource[];
  create(body: NetworkCreateRequest): Promise<{ Id: string; Warning: string }>;
  inspect(ref: string): NetworkResource;
  remove(ref: string): Promise<void>;
  prune(filters: Map<string, string[]>): Promise<NetworkPruneResponse>;
  connect(ref: string, container: string, config: EndpointConfigRequest): Promise<void>;
  disconnect(ref: string, container: string, force: boolean): Promise<void>;
}
