/**
 * The steps that make layers: RUN (a container of the current state, run through the
 * container service, its changes committed) and WORKDIR; the snapshot helpers COPY/ADD
 * (copy-step.ts) shares: a snapshot of the current state mounted on the host, written into,
 * diffed. Each returns the new layer, or none.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { isErrno, WharfError, type Logger } from '../common/index.js';
import type { Digest, ImageConfigConfig } from '../oci/index.js';
import { mkdirAllInRoot } from './copy.js';
import { LayerPlan } from './layer-plan.js';
import { dropMountStubs, stubDirs } from './mount-stubs.js';
import type { BuilderPorts, IngestedLayer } from './ports.js';
import { statInTree } from './source-tree.js';

export interface StepEnv {
  ports: BuilderPorts;
  /** Scratch space of this build (mount points, unpacked archives). */
  workDir: string;
  emit(text: string): void;
  signal: AbortSignal;
  log: Logger;
}

/** A RUN's exit status other than 0: Docker's message, and its code for the client's exit. */
export class RunFailedError extends WharfError {
  constructor(
    readonly argv: string[],
    readonly exitCode: number,
  ) {
    super(
      'internal',
      'ERR_BUILD_RUN',
      `The command '${argv.join(' ')}' returned a non-zero code: ${exitCode}`,
    );
  }
}

export class BuildCancelledError extends WharfError {
  constructor() {
    super('unavailable', 'ERR_BUILD_CANCELLED', 'build cancelled: the client went away');
  }
}

export interface RunRequest {
  argv: string[];
  env: string[];
  config: ImageConfigConfig;
  chainID: Digest | undefined;
  networkMode: string;
  extraHosts: string[];
  /** HostConfig limits from the build's query (memory, cpu, shm size). */
  limits?: Record<string, number | string>;
  /** From `--mount`: cache and context binds, tmpfs mounts. */
  binds: string[];
  tmpfs: Record<string, string>;
  /** Container paths left out of the layer (secret mount points). */
  exclude: string[];
  /** Remove the container after success / also after failure. */
  rm: boolean;
  forceRm: boolean;
}

/** RUN: the container's changes as a new layer on `chainID`. */
export async function runStep(env: StepEnv, req: RunRequest): Promise<IngestedLayer> {
  const { containers, images } = env.ports;
  const imageId = `sha256:${randomBytes(32).toString('hex')}`;
  const unregister = containers.register({ id: imageId, config: req.config, chainID: req.chainID });
  let id: string | undefined;
  let ok = false;
  // A client that goes away cancels the build: its running step is killed and removed.
  let cancelled = false;
  let removal: Promise<void> | undefined;
  const cancel = (): void => {
    if (id === undefined || cancelled) return;
    cancelled = true;
    removal = containers
      .remove(id)
      .catch((err: unknown) => env.log.warn({ err, container: id }, 'removing a cancelled step'));
  };
  env.signal.addEventListener('abort', cancel, { once: true });
  try {
    if (env.signal.aborted) throw new BuildCancelledError();
    id = await containers.create({
      Image: imageId,
      Cmd: req.argv,
      Entrypoint: [''],
      Env: req.env,
      Healthcheck: { Test: ['NONE'] },
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        ...(req.limits ?? {}),
        NetworkMode: req.networkMode,
        ...(req.extraHosts.length ? { ExtraHosts: req.extraHosts } : {}),
        ...(req.binds.length ? { Binds: req.binds } : {}),
        ...(Object.keys(req.tmpfs).length ? { Tmpfs: req.tmpfs } : {}),
      },
    } as Parameters<typeof containers.create>[0]);
    if (env.signal.aborted) {
      cancel();
      throw new BuildCancelledError();
    }
    env.emit(` ---> Running in ${id.slice(0, 12)}\n`);
    await containers.start(id);
    if (env.signal.aborted) cancel();
    for await (const chunk of containers.output(id, env.signal)) env.emit(chunk.toString('utf8'));
    if (env.signal.aborted) throw new BuildCancelledError();
    const code = await containers.wait(id);
    if (code !== 0) throw new RunFailedError(req.argv, code);
    const { layer, done } = await containers.diff(id, req.exclude);
    try {
      // Directories made only to mount secrets on do not belong in the layer.
      const out = await images.ingestLayer(
        dropMountStubs(layer, stubDirs(req.exclude)),
        req.chainID,
      );
      ok = true;
      return out;
    } finally {
      layer.destroy();
      await done();
    }
  } finally {
    env.signal.removeEventListener('abort', cancel);
    // A cancelled step's container is gone before the build answers.
    if (removal) await removal;
    unregister();
    if (id !== undefined && !cancelled && (req.forceRm || (ok && req.rm))) {
      env.emit(`Removing intermediate container ${id.slice(0, 12)}\n`);
      await containers.remove(id);
    }
  }
}

/** A snapshot of `chainID` mounted on the host for the duration of `fn`. */
export async function withMounted<T>(
  env: StepEnv,
  chainID: Digest | undefined,
  fn: (rootfs: string, key: string) => Promise<T>,
): Promise<T> {
  const key = `build-${randomBytes(12).toString('hex')}`;
  const target = path.join(env.workDir, 'mnt', key);
  const { snapshots } = env.ports;
  await fsp.mkdir(target, { recursive: true });
  await snapshots.prepare(key, chainID);
  let mounted = false;
  try {
    await snapshots.mount(key, target);
    mounted = true;
    return await fn(target, key);
  } finally {
    if (mounted) await snapshots.unmount(target);
    await fsp.rmdir(target).catch(() => undefined);
    await snapshots.remove(key);
  }
}

/** Write into a snapshot of `chainID`; a layer of what changed, or undefined if `fn` says so. */
export async function layerStep(
  env: StepEnv,
  chainID: Digest | undefined,
  fn: (rootfs: string) => Promise<boolean>,
  /** Rewrites the layer tar before it is stored (squash's whiteouts). */
  transform?: (tar: Readable) => Readable,
): Promise<IngestedLayer | undefined> {
  const key = `build-${randomBytes(12).toString('hex')}`;
  const target = path.join(env.workDir, 'mnt', key);
  const { snapshots, images } = env.ports;
  await fsp.mkdir(target, { recursive: true });
  await snapshots.prepare(key, chainID);
  try {
    let changed: boolean;
    await snapshots.mount(key, target);
    try {
      changed = await fn(target);
    } finally {
      await snapshots.unmount(target);
    }
    if (!changed) return undefined;
    const tar = await snapshots.diff(key);
    try {
      return await images.ingestLayer(transform ? transform(tar) : tar, chainID);
    } finally {
      tar.destroy();
    }
  } finally {
    await fsp.rmdir(target).catch(() => undefined);
    await snapshots.remove(key);
  }
}

/**
 * A layer planned over a snapshot of `chainID` (layer-plan.ts) and stored: `fn` plans the
 * changes, reading the previous state through the plan; undefined when it plans nothing.
 * Nothing is written in the snapshot: the layer tar goes to the image store, which unpacks
 * it once.
 */
export async function planStep(
  env: StepEnv,
  chainID: Digest | undefined,
  fn: (plan: LayerPlan) => Promise<void>,
): Promise<IngestedLayer | undefined> {
  const plan = await withMounted(env, chainID, async (rootfs) => {
    const p = new LayerPlan(rootfs);
    await fn(p);
    return p;
  });
  if (plan.empty) return undefined;
  const tar = plan.tar();
  try {
    return await env.ports.images.ingestLayer(tar, chainID);
  } finally {
    tar.destroy();
  }
}

/** WORKDIR: a layer only when the directory had to be created. */
export async function workdirStep(
  env: StepEnv,
  chainID: Digest | undefined,
  dir: string,
): Promise<IngestedLayer | undefined> {
  return planStep(env, chainID, async (plan) => {
    try {
      await statInTree(plan, dir);
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    await mkdirAllInRoot(plan, dir, { uid: 0, gid: 0 });
  });
}
