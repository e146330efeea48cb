/**
 * The step cache. A step's key is a digest of its parent's key (the base image's ID, or the
 * key chain of the steps before it), its expanded instruction, the build-arg values it
 * depends on and, for COPY/ADD from the context, a digest of its sources' paths, modes,
 * owners and contents (mtimes do not count). A record maps a key to the state the step
 * produced (config, layers, chain ID); it is used only while every layer it names is still
 * present, so an image removal or prune that took a layer turns the record into a miss.
 *
 * Records are files `<dir>/<key>.json` written atomically (the file's mtime is the last use):
 * the cache survives restarts; `prune()` deletes those a prune selects and drops the layers
 * no image uses.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno, readJson, writeJsonAtomic, type Logger } from '../common/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { selectForPrune, type PruneCandidate, type PruneOptions } from './cache-prune.js';
import type { StageConfig } from './config-steps.js';
import type { BuilderImages, IngestedLayer } from './ports.js';

export interface CachedState extends StageConfig {
  layers: Descriptor[];
  chainID: Digest | undefined;
}

interface CacheRecord {
  schemaVersion: 1;
  key: string;
  /** The key of the step (or base) this one was built on. */
  parent?: string;
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

/**
 * Records read or written lately, shared by the builds of one daemon (the only writer of the
 * directory), so a rebuild's lookups do not read a file per step; `null` remembers a miss.
 * Bounded: the oldest entries go first.
 */
export class RecordMemo {
  private readonly map = new Map<string, CacheRecord | null>();

  constructor(private readonly max = 4096) {}

  get(key: string): CacheRecord | null | undefined {
    return this.map.get(key);
  }

  set(key: string, rec: CacheRecord | null): void {
    this.map.delete(key);
    this.map.set(key, rec);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  clear(): void {
    this.map.clear();
  }
}

export class BuildCache {
  /**
   * Layers and blobs already found present by this build: its lease holds them from the
   * first check on, so later steps' records need not look again (a hit costs one read).
   */
  private readonly present = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly images: BuilderImages,
    private readonly log: Logger,
    private readonly memo = new RecordMemo(),
  ) {}

  private file(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  /** The state recorded for `key`, when all its layers are still there. */
  async get(key: string): Promise<CachedState | undefined> {
    let rec = this.memo.get(key) ?? undefined;
    if (this.memo.get(key) === undefined) {
      try {
        rec = await readJson<CacheRecord>(this.file(key));
      } catch (err) {
        this.log.warn({ err, key }, 'unreadable build cache record');
        return undefined;
      }
      this.memo.set(key, rec ?? null);
    }
    if (!rec || rec.schemaVersion !== 1) return undefined;
    // The file's mtime is the record's last use (prune's `until`, keep-storage's order).
    const now = new Date();
    fsp.utimes(this.file(key), now, now).catch(() => undefined);
    const { layers, chainID } = rec.state;
    const known =
      (chainID === undefined || this.present.has(chainID)) &&
      layers.every((l) => this.present.has(l.digest));
    if (!known) {
      if (!(await this.images.hasLayers(layers, chainID))) return undefined;
      if (chainID !== undefined) this.present.add(chainID);
      for (const l of layers) this.present.add(l.digest);
    }
    return structuredClone(rec.state);
  }

  async put(
    key: string,
    state: CachedState,
    layer?: IngestedLayer,
    parent?: string,
  ): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const rec: CacheRecord = {
      schemaVersion: 1,
      key,
      ...(parent !== undefined ? { parent } : {}),
      created: new Date().toISOString(),
      state,
      ...(layer ? { layer } : {}),
    };
    // Not durable: a record lost to a power cut is a cache miss, nothing worse.
    await writeJsonAtomic(this.file(key), rec, 0o600, { durable: false });
    this.memo.set(key, rec);
  }

  /**
   * Delete the records and cache mounts `opts` selects (cache-prune.ts: BuildKit's rules),
   * then drop the layers they kept that no image uses. `usage` tells, for a layer, its size,
   * whether an image shares it and whether a build holds it (undefined: the layer is gone).
   */
  async prune(
    opts: PruneOptions,
    usage: (chainID: Digest) => LayerUsage | undefined,
  ): Promise<{ deleted: string[]; reclaimed: number }> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) names = [];
      else throw err;
    }
    const candidates: Array<PruneCandidate & { file?: string; rec?: CacheRecord; dir?: string }> =
      [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(this.dir, name);
      const [rec, st] = await Promise.all([
        readJson<CacheRecord>(file).catch(() => undefined),
        fsp.stat(file).catch(() => undefined),
      ]);
      if (!st) continue;
      const u = rec?.layer ? usage(rec.layer.chainID) : undefined;
      candidates.push({
        // The whole key (system df shows its first 25 characters; `id` is a pattern).
        id: rec?.key ?? name.slice(0, -'.json'.length),
        type: 'regular',
        description: rec?.state.image.history?.at(-1)?.created_by ?? '',
        ...(rec?.parent ? { parent: rec.parent } : {}),
        shared: u?.shared ?? false,
        inUse: u?.inUse ?? false,
        size: u?.size ?? 0,
        lastUsed: st.mtimeMs,
        file,
        ...(rec ? { rec } : {}),
      });
    }
    const mountsDir = path.join(this.dir, 'mounts');
    for (const id of await fsp.readdir(mountsDir).catch(() => [] as string[])) {
      const dir = path.join(mountsDir, id);
      const st = await fsp.stat(dir).catch(() => undefined);
      if (!st) continue;
      candidates.push({
        id,
        type: 'exec.cachemount',
        description: `cache mount ${id.slice(0, 12)}`,
        shared: false,
        inUse: false,
        size: opts.keepStorage > 0 ? await treeSize(dir) : 0,
        lastUsed: st.mtimeMs,
        dir,
      });
    }
    const chosen = selectForPrune(candidates, opts, Date.now()) as typeof candidates;
    this.memo.clear();
    const layers: Array<{ layer: IngestedLayer; depth: number }> = [];
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of chosen) {
      if (c.dir) {
        reclaimed += c.size || (await treeSize(c.dir));
        await fsp.rm(c.dir, { recursive: true, force: true });
      } else if (c.file) {
        if (c.rec?.layer) layers.push({ layer: c.rec.layer, depth: c.rec.state.layers.length });
        await fsp.rm(c.file, { force: true });
      }
      deleted.push(c.id);
    }
    // Again after the files went: a build meanwhile may have remembered one of them.
    this.memo.clear();
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
      const file = path.join(this.dir, name);
      const rec = await readJson<CacheRecord>(file).catch(() => undefined);
      if (!rec || rec.schemaVersion !== 1) continue;
      const mtime = (await fsp.stat(file).catch(() => undefined))?.mtime;
      // Written at creation, touched at each hit: a later mtime is a use.
      const used = mtime && mtime.getTime() > Date.parse(rec.created) + 50;
      steps.push({
        key: rec.key,
        created: rec.created,
        ...(used ? { lastUsed: mtime.toISOString() } : {}),
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

export interface LayerUsage {
  size: number;
  /** An image uses the layer. */
  shared: boolean;
  /** A build in flight holds it. */
  inUse: boolean;
}

/** Bytes of regular files under `dir` (a cache mount), not following links. */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const ent of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) total += await treeSize(p);
    else if (ent.isFile()) total += (await fsp.lstat(p).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

export interface CacheEntry {
  key: string;
  created: string;
  /** When a build last hit it (its file's mtime), if it has been hit since it was made. */
  lastUsed?: string;
  description: string;
  layer?: IngestedLayer;
}
