import type {
  ContainerConfig,
  ContainerCreateRequest,
  HostConfig,
  ImageRuntimeConfig,
} from '../api-types/index.js';
import { invalidArgument } from '../common/index.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Merge env lists: later entries override earlier ones with the same key, order kept. */
export function mergeEnv(...lists: Array<string[] | null | undefined>): string[] {
  const out = new Map<string, string>();
  for (const list of lists) {
    for (const kv of list ?? []) {
      const i = kv.indexOf('=');
      const key = i < 0 ? kv : kv.slice(0, i);
      out.delete(key);
      out.set(key, kv);
    }
  }
  return [...out.values()];
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Docker omits empty maps (omitempty): `{ key: map }` only when the map has entries. */
function nonEmpty<K extends string>(
  key: K,
  map: Record<string, object>,
): Partial<Record<K, Record<string, object>>> {
  return Object.keys(map).length > 0 ? ({ [key]: map } as Record<K, Record<string, object>>) : {};
}

function orNull(map: Record<string, object>): Record<string, object> | null {
  return Object.keys(map).length > 0 ? map : null;
}

/**
 * The container's Env as Docker builds it: the request's entries first, then the image's
 * entries whose keys the request does not set.
 */
export function mergeImageEnv(user: string[] | null | undefined, image: string[]): string[] {
  if (!user || user.length === 0) return [...image];
  const key = (kv: string): string => kv.split('=', 1)[0]!;
  const userKeys = new Set(user.map(key));
  return [...user, ...image.filter((kv) => !userKeys.has(key(kv)))];
}

/**
 * Check the JSON types of a create request as Docker's decoder would, normalising what it
 * accepts loosely (Cmd and Entrypoint may be a single string: docker's strslice).
 */
export function validateCreateRequest(req: ContainerCreateRequest): ContainerCreateRequest {
  const out: ContainerCreateRequest = { ...req };
  for (const key of ['Cmd', 'Entrypoint', 'Shell'] as const) {
    const v = req[key] as unknown;
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') out[key] = [v];
    else if (!isStringArray(v))
      throw invalidArgument(
        `json: cannot unmarshal ${typeof v} into Go struct field Config.${key} of type strslice.StrSlice`,
      );
  }
  for (const key of ['Env', 'OnBuild'] as const) {
    const v = req[key] as unknown;
    if (v !== undefined && v !== null && !isStringArray(v)) {
      throw invalidArgument(
        `json: cannot unmarshal ${typeof v} into Go struct field Config.${key} of type []string`,
      );
    }
  }
  for (const key of [
    'Image',
    'User',
    'WorkingDir',
    'Hostname',
    'Domainname',
    'StopSignal',
  ] as const) {
    const v = req[key] as unknown;
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw invalidArgument(
        `json: cannot unmarshal ${typeof v} into Go struct field Config.${key} of type string`,
      );
    }
  }
  const labels = req.Labels as unknown;
  if (labels !== undefined && labels !== null) {
    if (
      typeof labels !== 'object' ||
      Array.isArray(labels) ||
      !Object.values(labels).every((x) => typeof x === 'string')
    ) {
      throw invalidArgument(
        'json: cannot unmarshal into Go struct field Config.Labels of type map[string]string',
      );
    }
  }
  const hc = req.HostConfig as unknown;
  if (hc !== undefined && hc !== null && (typeof hc !== 'object' || Array.isArray(hc))) {
    throw invalidArgument(
      `json: cannot unmarshal ${typeof hc} into Go struct field ContainerCreateRequest.HostConfig of type container.HostConfig`,
    );
  }
  return out;
}

/**
 * The container's Config as Docker stores it: the request's fields, with the image's used for
 * whatever the request left unset. Entrypoint given without Cmd clears the image's Cmd.
 */
export function mergeConfig(
  req: ContainerCreateRequest,
  image: ImageRuntimeConfig,
  hostname: string,
): ContainerConfig {
  // moby's merge: an empty Entrypoint (absent or []) takes the image's Cmd when none is given;
  // only an absent one takes the image's Entrypoint. `--entrypoint ""` arrives as [""]: reset.
  const userEp = req.Entrypoint ?? null;
  let entrypoint: string[] | null = userEp;
  let cmd = req.Cmd && req.Cmd.length > 0 ? req.Cmd : null;
  if (userEp === null || userEp.length === 0) {
    if (!cmd) cmd = image.Cmd ?? null;
    if (userEp === null) entrypoint = image.Entrypoint ?? null;
  }
  if (entrypoint?.length === 1 && entrypoint[0] === '') entrypoint = [];
  if ((entrypoint ?? []).length === 0 && (cmd ?? []).length === 0) {
    throw invalidArgument('No command specified');
  }
  const imageEnv = image.Env && image.Env.length > 0 ? image.Env : [DEFAULT_PATH];
  return {
    Hostname: req.Hostname || hostname,
    Domainname: req.Domainname ?? '',
    User: req.User || image.User || '',
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    ...nonEmpty('ExposedPorts', { ...(image.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) }),
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: mergeImageEnv(req.Env, imageEnv),
    Cmd: cmd,
    Image: req.Image ?? '',
    // Docker: ExposedPorts is omitempty, Volumes is null when empty.
    Volumes: orNull({ ...(image.Volumes ?? {}), ...(req.Volumes ?? {}) }),
    WorkingDir: req.WorkingDir || image.WorkingDir || '',
    Entrypoint: entrypoint,
    OnBuild: image.OnBuild ?? null,
    Labels: { ...(image.Labels ?? {}), ...(req.Labels ?? {}) },
    ...(req.StopSignal || image.StopSignal
      ? { StopSignal: req.StopSignal || image.StopSignal }
      : {}),
    ...(req.StopTimeout !== undefined && req.StopTimeout !== null
      ? { StopTimeout: req.StopTimeout }
      : {}),
    ...(req.Healthcheck || image.Healthcheck
      ? { Healthcheck: req.Healthcheck ?? image.Healthcheck }
      : {}),
  };
}

const SUPPORTED_RESTART = new Set(['', 'no']);

/** Fill HostConfig defaults as Docker reports them in inspect, and refuse what we cannot do. */
export function normalizeHostConfig(hc: HostConfig | undefined): HostConfig {
  const h: HostConfig = { ...(hc ?? {}) };
  const mode = h.NetworkMode ?? '';
  if (mode === '' || mode === 'default') h.NetworkMode = 'bridge';
  // Other names are user-defined networks, checked against the network module at create;
  // `container:<x>` is checked there too (checkContainerNetworkMode).
  h.RestartPolicy = h.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 };
  if (h.RestartPolicy.Name === '') h.RestartPolicy = { Name: 'no', MaximumRetryCount: 0 };
  if (!SUPPORTED_RESTART.has(h.RestartPolicy.Name)) {
    throw invalidArgument(
      `restart policy "${h.RestartPolicy.Name}" is not supported by this daemon yet`,
    );
  }
  if (h.AutoRemove && h.RestartPolicy.Name !== 'no') {
    throw invalidArgument("can't create 'AutoRemove' container with restart policy");
  }
  h.ShmSize = h.ShmSize && h.ShmSize > 0 ? h.ShmSize : DEFAULT_SHM_SIZE;
  if (h.Memory && h.Memory > 0 && h.Memory < 6 * 1024 * 1024) {
    throw invalidArgument('Minimum memory limit allowed is 6MB');
  }
  if (h.MemorySwap && h.MemorySwap > 0 && h.Memory && h.MemorySwap < h.Memory) {
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (h.NanoCpus && h.CpuPeriod) {
    throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (h.NanoCpus && h.CpuQuota) {
    throw invalidArgument('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  }
  // `--log-opt` without `--log-driver` arrives as {Type: '', Config}: keep the options.
  h.LogConfig = {
    Type: h.LogConfig?.Type || 'json-file',
    Config: { ...(h.LogConfig?.Config ?? {}) },
  };
  h.CgroupnsMode = h.CgroupnsMode || 'private';
  h.IpcMode = h.IpcMode || 'private';
  h.Privileged = h.Privileged ?? false;
  h.ReadonlyRootfs = h.ReadonlyRootfs ?? false;
  h.AutoRemove = h.AutoRemove ?? false;
  return h;
}

/** The process argv Docker runs: Entrypoint then Cmd. */
export function processArgs(cfg: ContainerConfig): string[] {
  return [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
}
