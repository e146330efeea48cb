/**
 * `RUN --mount=…` (BuildKit's syntax, which Docker's classic builder refuses): `type=cache`
 * (a directory kept across builds under the build cache, by `id`, default the target),
 * `type=tmpfs`, read-only `type=bind` from the build context, and `type=secret` (a
 * `--secret` of the build as a read-only file, secrets.ts). Ssh mounts, binds from another
 * stage and read-write binds are not done yet: those are refused with a clear message rather
 * than ignored.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { invalidArgument, notImplemented } from '../common/index.js';
import { resolveInRoot } from '../containers/index.js';
import type { BuildSecrets } from './secrets.js';

export interface RunMounts {
  /** `host:target[:ro]` binds for the RUN container. */
  binds: string[];
  tmpfs: Record<string, string>;
  /** Paths (absolute in the container) left out of the step's layer: secret mount points. */
  exclude: string[];
  /** Host files to delete when the step ends (the secrets' copies). */
  cleanup: string[];
}

function parseSpec(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const field of spec.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    out.set(key, eq < 0 ? 'true' : field.slice(eq + 1));
  }
  return out;
}

const truthy = (v: string | undefined): boolean => v !== undefined && v !== 'false';

/** Resolve the `--mount` flags of one RUN. `workingDir` makes relative targets absolute. */
export async function planRunMounts(
  specs: readonly string[],
  opts: {
    /** The context as a directory (written when first asked for). */
    contextDir: () => Promise<string>;
    cacheMountsDir: string;
    workingDir: string;
    secrets?: BuildSecrets;
  },
): Promise<RunMounts> {
  const out: RunMounts = { binds: [], tmpfs: {}, exclude: [], cleanup: [] };
  try {
    for (const spec of specs) await planOne(spec, opts, out);
  } catch (err) {
    await removeFiles(out.cleanup);
    throw err;
  }
  return out;
}

/** Delete the host copies of secrets a step used. */
export async function removeFiles(files: readonly string[]): Promise<void> {
  for (const f of files) await fsp.rm(f, { force: true });
}

const num = (spec: string, v: string | undefined, base: number, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = parseInt(v, base);
  if (!Number.isInteger(n) || n < 0 || !/^[0-9]+$/.test(v))
    throw invalidArgument(`mount ${spec}: invalid value ${v}`);
  return n;
};

/** `type=secret`: BuildKit's defaults (id from the target's name, /run/secrets/<id>, 0400, 0:0). */
async function secretMount(
  spec: string,
  m: Map<string, string>,
  workingDir: string,
  secrets: BuildSecrets | undefined,
  out: RunMounts,
): Promise<void> {
  const rawTarget = m.get('target') ?? m.get('dst') ?? m.get('destination');
  const id = m.get('id') || (rawTarget ? path.posix.basename(rawTarget) : '');
  if (id === '') throw invalidArgument(`mount ${spec}: secret id or target is required`);
  const target = path.posix.resolve(workingDir || '/', rawTarget ?? `/run/secrets/${id}`);
  const file = await secrets?.file(id, {
    mode: num(spec, m.get('mode'), 8, 0o400),
    uid: num(spec, m.get('uid'), 10, 0),
    gid: num(spec, m.get('gid'), 10, 0),
  });
  if (file === undefined) {
    // BuildKit's words; an optional secret that was not given is simply not mounted.
    if (truthy(m.get('required'))) throw invalidArgument(`secret ${id}: not found`);
    return;
  }
  out.cleanup.push(file);
  out.binds.push(`${file}:${target}:ro`);
  out.exclude.push(target);
}

async function planOne(
  spec: string,
  opts: {
    contextDir: () => Promise<string>;
    cacheMountsDir: string;
    workingDir: string;
    secrets?: BuildSecrets;
  },
  out: RunMounts,
): Promise<void> {
  const m = parseSpec(spec);
  const type = m.get('type') ?? 'bind';
  const rawTarget = m.get('target') ?? m.get('dst') ?? m.get('destination');
  if (type === 'secret') return secretMount(spec, m, opts.workingDir, opts.secrets, out);
  if (type === 'ssh')
    throw notImplemented(
      `RUN --mount=type=ssh is not supported by this Wharf daemon yet (the classic build protocol carries no agent)`,
    );
  if (!rawTarget) throw invalidArgument(`mount ${spec}: target is required`);
  const target = path.posix.resolve(opts.workingDir || '/', rawTarget);
  const readonly = truthy(m.get('readonly')) || truthy(m.get('ro'));
  switch (type) {
    case 'cache': {
      if (m.has('from') || m.has('source'))
        throw notImplemented('RUN --mount=type=cache with from/source is not supported yet');
      const id = m.get('id') || target;
      const dir = path.join(
        opts.cacheMountsDir,
        createHash('sha256').update(id).digest('hex').slice(0, 32),
      );
      let created = false;
      try {
        await fsp.mkdir(dir, { recursive: false, mode: 0o755 });
        created = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          await fsp.mkdir(opts.cacheMountsDir, { recursive: true, mode: 0o700 });
          // A parallel stage may make the same cache directory meanwhile.
          created = await fsp.mkdir(dir, { mode: 0o755 }).then(
            () => true,
            (e: NodeJS.ErrnoException) => {
              if (e.code !== 'EEXIST') throw e;
              return false;
            },
          );
        } else if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (created) {
        if (m.has('mode')) await fsp.chmod(dir, parseInt(m.get('mode')!, 8));
        if (m.has('uid') || m.has('gid'))
          await fsp.chown(dir, Number(m.get('uid') ?? 0), Number(m.get('gid') ?? 0));
      }
      out.binds.push(`${dir}:${target}${readonly ? ':ro' : ''}`);
      break;
    }
    case 'tmpfs':
      out.tmpfs[target] = m.has('size') ? `size=${m.get('size')}` : '';
      break;
    case 'bind': {
      if (m.has('from')) throw notImplemented('RUN --mount=type=bind,from=… is not supported yet');
      if (truthy(m.get('rw')) || truthy(m.get('readwrite')))
        throw notImplemented('RUN --mount=type=bind,rw is not supported yet');
      const source = m.get('source') ?? m.get('src') ?? '/';
      const rel = path.posix.normalize(`/${source}`);
      const host = await resolveInRoot(await opts.contextDir(), rel);
      await fsp.lstat(host).catch(() => {
        throw invalidArgument(`failed to mount ${source}: not found in the build context`);
      });
      out.binds.push(`${host}:${target}:ro`);
      break;
    }
    default:
      throw invalidArgument(`unsupported mount type "${type}"`);
  }
}
