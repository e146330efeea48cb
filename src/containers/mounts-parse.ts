/**
 * Docker's mount specifications, parsed and validated as dockerd's Linux parser does:
 * `-v` strings (HostConfig.Binds), `--mount` objects (HostConfig.Mounts), `--volumes-from`.
 * Pure: whether a bind source exists is asked through a function. Messages are Docker's.
 */
import { posix } from 'node:path';

import type { Mount } from '../api-types/index.js';
import { invalidArgument, WharfError } from '../common/index.js';

/** A parsed mount, before any volume is created or looked up. */
export interface MountSpec {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** bind: host path; volume: name ('' for an anonymous volume); tmpfs: ''. */
  Source: string;
  Destination: string;
  RW: boolean;
  /** The mode string as given (`ro`, `rw,nocopy`, ...), shown as Mode in inspect. */
  Mode: string;
  /** Bind propagation ('' for volumes and tmpfs). */
  Propagation: string;
  /** Copy the image's content into an empty volume at first mount. */
  copyData: boolean;
  /** `-v` binds: a missing host path is created at start (`--mount` refuses it). */
  createSource?: boolean;
  /** `bind-nonrecursive`: a plain bind, without the mounts below the source. */
  nonRecursive?: boolean;
  /** tmpfs mount data (size=…,mode=…) for the runtime's tmpfs option merge. */
  tmpfsData?: string;
  /** `volume-subpath`: mount this directory of the volume instead of its root. */
  subpath?: string;
  /** For a volume created by this mount (`--mount volume-opt=…,volume-label=…`). */
  volume?: {
    driver?: string;
    driverOpts?: Record<string, string>;
    labels?: Record<string, string>;
  };
}

const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const PROPAGATIONS = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
const COPY_MODES = new Set(['nocopy']);
const CONSISTENCY = new Set(['consistent', 'cached', 'delegated']);
export const DEFAULT_PROPAGATION = 'rprivate';

const bad = (msg: string): WharfError => invalidArgument(msg);
const invalidSpec = (raw: string): string => `invalid volume specification: '${raw}'`;

/** A mode string Docker accepts: at most one of each kind (rw/ro, label, propagation, copy). */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    if (RW_MODES.has(o)) counts[0]!++;
    else if (LABEL_MODES.has(o)) counts[1]!++;
    else if (PROPAGATIONS.has(o)) counts[2]!++;
    else if (COPY_MODES.has(o)) counts[3]!++;
    else if (CONSISTENCY.has(o)) counts[4]!++;
    else return false;
  }
  return counts.every((c) => c <= 1);
}

const modeParts = (mode: string): string[] => (mode === '' ? [] : mode.split(','));

function checkTarget(target: string | undefined): string | undefined {
  if (!target) return 'field Target must not be empty';
  if (posix.normalize(target.replaceAll('\\', '/')) === '/')
    return "invalid specification: destination can't be '/'";
  if (!posix.isAbsolute(target))
    return `invalid mount path: '${target}' mount path must be absolute`;
  return undefined;
}

const clean = (p: string): string => {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
};

/** `-v [SOURCE:]TARGET[:MODE]` (HostConfig.Binds); SOURCE absolute → bind, else a volume name. */
export function parseBind(raw: string): MountSpec {
  const arr = splitN(raw, ':', 4);
  if (arr[0] === '') throw bad(invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  if (arr.length === 1) target = arr[0]!;
  else if (arr.length === 2) {
    // "/foo:rw" is a target with a mode, which a volume cannot have.
    if (validMountMode(arr[1]!)) throw bad(invalidSpec(raw));
    [source, target] = arr as [string, string];
  } else if (arr.length === 3) [source, target, mode] = arr as [string, string, string];
  else throw bad(invalidSpec(raw));
  if (!validMountMode(mode)) throw bad(`invalid mode: ${mode}`);
  const opts = modeParts(mode);
  const type = posix.isAbsolute(source) ? 'bind' : 'volume';
  const fail = (why: string): WharfError =>
    bad(`${invalidSpec(raw)}: invalid mount config for type "${type}": ${why}`);
  const targetError = checkTarget(target);
  if (targetError) throw fail(targetError);
  const propagation = opts.find((o) => PROPAGATIONS.has(o));
  const rw = !opts.includes('ro');
  if (type === 'volume') {
    if (propagation) throw fail('field BindOptions must not be specified');
    if (!rw && source === '') throw fail('must not set ReadOnly mode when using anonymous volumes');
  }
  return {
    Type: type,
    Source: type === 'bind' ? clean(source) : source,
    Destination: clean(target),
    RW: rw,
    Mode: mode,
    Propagation: type === 'bind' ? (propagation ?? DEFAULT_PROPAGATION) : '',
    copyData: type === 'volume' && !opts.includes('nocopy'),
    ...(type === 'bind' ? { createSource: true } : {}),
  };
}

/**
 * One HostConfig.Mounts entry (`--mount`), validated as dockerd's ValidateMountConfig,
 * including that a bind source exists.
 */
export function parseMount(m: Mount, exists: (p: string) => boolean): MountSpec {
  if (!m || typeof m !== 'object') throw bad('invalid mount config: not an object');
  for (const key of ['Type', 'Source', 'Target'] as const) {
    const v = m[key] as unknown;
    if (v !== undefined && v !== null && typeof v !== 'string')
      throw bad(
        `json: cannot unmarshal ${typeof v} into Go struct field Mount.HostConfig.Mounts.${key} of type string`,
      );
  }
  const type = m.Type as string | undefined;
  const fail = (why: string): WharfError =>
    bad(`invalid mount config for type "${type ?? ''}": ${why}`);
  const targetError = checkTarget(m.Target);
  if (targetError) throw fail(targetError);
  const target = clean(m.Target!);
  const source = m.Source ?? '';
  switch (type) {
    case 'bind': {
      if (source === '') throw fail('field Source must not be empty');
      const prop = m.BindOptions?.Propagation ?? '';
      if (prop !== '' && !PROPAGATIONS.has(prop)) throw fail(`invalid propagation mode: ${prop}`);
      if (m.VolumeOptions) throw fail('field VolumeOptions must not be specified');
      if (m.TmpfsOptions) throw fail('field TmpfsOptions must not be specified');
      if (!posix.isAbsolute(source))
        throw fail(`invalid mount path: '${source}' mount path must be absolute`);
      if (!m.BindOptions?.CreateMountpoint && !exists(clean(source)))
        throw fail(`bind source path does not exist: ${source}`);
      return {
        Type: 'bind',
        Source: clean(source),
        Destination: target,
        RW: !m.ReadOnly,
        Mode: '',
        Propagation: prop || DEFAULT_PROPAGATION,
        copyData: false,
        ...(m.BindOptions?.CreateMountpoint ? { createSource: true } : {}),
        ...(m.BindOptions?.NonRecursive ? { nonRecursive: true } : {}),
      };
    }
    case 'volume': {
      if (m.BindOptions) throw fail('field BindOptions must not be specified');
      if (m.TmpfsOptions) throw fail('field TmpfsOptions must not be specified');
      const subpath = m.VolumeOptions?.Subpath ?? '';
      if (subpath !== '') {
        if (source === '') throw fail('must not set Subpath when using anonymous volumes');
        if (!isLocalPath(subpath)) throw fail('subpath must be a relative path within the volume');
      }
      if (m.ReadOnly && source === '')
        throw fail('must not set ReadOnly mode when using anonymous volumes');
      const vo = m.VolumeOptions;
      return {
        Type: 'volume',
        Source: source,
        Destination: target,
        RW: !m.ReadOnly,
        Mode: '',
        Propagation: '',
        // A subpath is data already in the volume: nothing is copied into it.
        copyData: !vo?.NoCopy && subpath === '',
        ...(subpath !== '' ? { subpath: posix.normalize(subpath) } : {}),
        volume: {
          ...(vo?.DriverConfig?.Name ? { driver: vo.DriverConfig.Name } : {}),
          ...(vo?.DriverConfig?.Options ? { driverOpts: { ...vo.DriverConfig.Options } } : {}),
          ...(vo?.Labels ? { labels: { ...vo.Labels } } : {}),
        },
      };
    }
    case 'tmpfs': {
      if (m.BindOptions) throw fail('field BindOptions must not be specified');
      if (m.VolumeOptions) throw fail('field VolumeOptions must not be specified');
      if (source !== '') throw fail('field Source must not be specified');
      return {
        Type: 'tmpfs',
        Source: '',
        Destination: target,
        RW: !m.ReadOnly,
        Mode: '',
        Propagation: '',
        copyData: false,
        tmpfsData: tmpfsData(m.TmpfsOptions, m.ReadOnly === true, fail),
      };
    }
    default:
      throw fail('mount type unknown');
  }
}

/** Docker's ConvertTmpfsOptions: ro, mode (octal), size with the largest exact suffix. */
function tmpfsData(
  o: Mount['TmpfsOptions'],
  readOnly: boolean,
  fail: (why: string) => WharfError,
): string {
  const out: string[] = [];
  if (readOnly) out.push('ro');
  if (o?.Mode) out.push(`mode=${o.Mode.toString(8)}`);
  if (o?.SizeBytes) {
    let size = o.SizeBytes;
    let suffix = '';
    for (const [s, d] of [
      ['g', 1 << 30],
      ['m', 1 << 20],
      ['k', 1 << 10],
    ] as const) {
      if (size % d === 0) {
        size /= d;
        suffix = s;
        break;
      }
    }
    out.push(`size=${size}${suffix}`);
  }
  for (const opt of o?.Options ?? []) {
    if (!Array.isArray(opt) || opt.length < 1 || opt.length > 2)
      throw fail('invalid option array length');
    if (opt[0] !== 'exec' && opt[0] !== 'noexec') throw fail(`invalid option: ${opt[0]}`);
    out.push(opt.length === 1 ? opt[0] : `${opt[0]}=${opt[1]}`);
  }
  return out.join(',');
}

/** `--volumes-from CONTAINER[:ro|rw]`: the container and its mode (rw by default). */
export function parseVolumesFrom(spec: string): { ref: string; mode: string } {
  if (spec === '') throw bad('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  const ref = i < 0 ? spec : spec.slice(0, i);
  const mode = i < 0 ? '' : spec.slice(i + 1);
  if (mode === '') return { ref, mode: 'rw' };
  const opts = modeParts(mode);
  if (!validMountMode(mode) || opts.some((o) => PROPAGATIONS.has(o) || COPY_MODES.has(o)))
    throw bad(`invalid mode: ${mode}`);
  return { ref, mode };
}

/** Destinations of Config.Volumes (anonymous volumes), validated. */
export function anonymousTarget(dest: string): string {
  const err = checkTarget(dest);
  if (err) throw bad(`invalid volume specification: '${dest}': ${err}`);
  return clean(dest);
}

const isStrings = (v: unknown): boolean =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');
const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON types of the mount fields of a create request, checked as Docker's decoder does,
 * so a malformed request is a 400 and never reaches the planner.
 */
export function checkMountFieldTypes(hc: Record<string, unknown>, volumes: unknown): void {
  const typeError = (field: string, type: string, v: unknown): WharfError =>
    bad(
      `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go struct field HostConfig.${field} of type ${type}`,
    );
  for (const key of ['Binds', 'VolumesFrom']) {
    const v = hc[key];
    if (v !== undefined && v !== null && !isStrings(v)) throw typeError(key, '[]string', v);
  }
  const mounts = hc['Mounts'];
  if (mounts !== undefined && mounts !== null) {
    if (!Array.isArray(mounts) || !mounts.every(isObject))
      throw typeError('Mounts', '[]mount.Mount', mounts);
  }
  const tmpfs = hc['Tmpfs'];
  if (
    tmpfs !== undefined &&
    tmpfs !== null &&
    (!isObject(tmpfs) || !Object.values(tmpfs as object).every((x) => typeof x === 'string'))
  )
    throw typeError('Tmpfs', 'map[string]string', tmpfs);
  if (volumes !== undefined && volumes !== null && !isObject(volumes)) {
    throw bad(
      `json: cannot unmarshal ${Array.isArray(volumes) ? 'array' : typeof volumes} into Go struct field Config.Volumes of type map[string]struct {}`,
    );
  }
}

/** Go's filepath.IsLocal: relative, non-empty, and not escaping through "..". */
function isLocalPath(p: string): boolean {
  if (p === '' || posix.isAbsolute(p)) return false;
  const n = posix.normalize(p);
  return n !== '..' && !n.startsWith('../');
}

/** Go's strings.SplitN. */
function splitN(s: string, sep: string, n: number): string[] {
  const parts = s.split(sep);
  if (parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}
