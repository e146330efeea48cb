/**
 * The step cache. A step's key is a digest of its parent's key (the base image's ID, or the
 * key chain of the steps before it), its expanded instruction, the build-arg values it
 * depends on and, for COPY/ADD from the context, a digest of its sources' paths, modes,
 * owners and contents (mtimes do not count). A record maps a key to the state the step
 * produced (config, layers, chain ID); it is used only while every layer it names is still
 * present, so an image removal or prune that took a layer turns the record into a miss.
 *
 * Records are files `<dir>/<key>.json` written atomically: the cache survives restarts;
 * `prune()` deletes them all and drops the layers no image uses.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno, readJson, writeJsonAtomic, type Logger } from '../common/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import type { StageConfig } from './config-steps.js';
import type { BuilderImages, IngestedLayer } from './ports.js';

export interface CachedState extends StageConfig {
  layers: Descriptor[];
  chainID: Digest | undefined;
}

interface CacheRecord {
  schemaVersion: 1;
  key: string;
  created: string;
  state: CachedState;
  /** The layer this step made, if any (dropped by prune when no image uses it). */
  layer?: IngestedLayer;
}

/** The key of a step: parent key + the parts that decide its result. */
export function stepKey(parent: string, parts: unknown): string {
  return createHash('sha256')
    .update(parent)
    .update('\0')
    .update(JSON.stringify(parts))
    .digest('hex');
}

export class BuildCache {
  constructor(
    private readonly dir: string,
    private readonly images: BuilderImages,
    private readonly log: Logger,
  ) {}

  private file(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  /** The state recorded for `key`, when all its layers are still there. */
  async get(key: string): Promise<CachedState | undefined> {
    let rec: CacheRecord | undefined;
    try {
      rec = await readJson<CacheRecord>(this.file(key));
    } catch (err) {
      this.log.warn({ err, key }, 'unreadable build cache record');
      return undefined;
    }
    if (!rec || rec.schemaVersion !== 1) return undefined;
    if (!(await this.images.hasLayers(rec.state.layers, rec.state.chainID))) return undefined;
    return structuredClone(rec.state);
  }

  async put(key: string, state: CachedState, layer?: IngestedLayer): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const rec: CacheRecord = {
      schemaVersion: 1,
      key,
      created: new Date().toISOString(),
      state,
      ...(layer ? { layer } : {}),
    };
    // Not durable: a record lost to a power cut is a cache miss, nothing worse.
    await writeJsonAtomic(this.file(key), rec, 0o600, { durable: false });
  }

  /** Delete every record; drop the layers they kept that no image uses. */
  async prune(): Promise<{ deleted: string[]; reclaimed: number }> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { deleted: [], reclaimed: 0 };
      throw err;
    }
    const layers: Array<{ layer: IngestedLayer; depth: number }> = [];
    const deleted: string[] = [];
    // RUN --mount=type=cache directories go too.
    await fsp.rm(path.join(this.dir, 'mounts'), { recursive: true, force: true });
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const rec = await readJson<CacheRecord>(path.join(this.dir, name)).catch(() => undefined);
      if (rec?.layer) layers.push({ layer: rec.layer, depth: rec.state.layers.length });
      await fsp.rm(path.join(this.dir, name), { force: true });
      deleted.push(name.slice(0, -'.json'.length));
    }
    let reclaimed = 0;
    // Children before parents, so a parent is free when its turn comes.
    layers.sort((a, b) => b.depth - a.depth);
    for (const { layer } of layers) {
      reclaimed += await this.images.dropUnused(layer).catch((err: unknown) => {
        this.log.warn({ err, layer: layer.chainID }, 'could not drop a cached layer');
        return 0;
      });
    }
    return { deleted, reclaimed };
  }

  /**
   * Every record, for `system df`: its key, when it was made, the step (its history line),
   * the layer it keeps, and the cache mounts (RUN --mount=type=cache) by id.
   */
  async list(): Promise<{ steps: CacheEntry[]; mounts: Array<{ id: string; dir: string }> }> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { steps: [], mounts: [] };
      throw err;
    }
    const steps: CacheEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const rec = await readJson<CacheRecord>(path.join(this.dir, name)).catch(() => undefined);
      if (!rec || rec.schemaVersion !== 1) continue;
      steps.push({
        key: rec.key,
        created: rec.created,
        description: rec.state.image.history?.at(-1)?.created_by ?? '',
        ...(rec.layer ? { layer: rec.layer } : {}),
      });
    }
    const mountsDir = path.join(this.dir, 'mounts');
    const mounts = (await fsp.readdir(mountsDir).catch(() => [] as string[])).map((id) => ({
      id,
      dir: path.join(mountsDir, id),
    }));
    return { steps, mounts };
  }
}

export interface CacheEntry {
  key: string;
  created: string;
  description: string;
  layer?: IngestedLayer;
}
