import type { Filters, Volume } from '../api-types/index.js';
import {
  conflict,
  errorMessage,
  internal,
  invalidArgument,
  KeyedMutex,
  notFound,
  run,
  WharfError,
  type Logger,
} from '../common/index.js';
import { copyUp, dirSize } from './data.js';
import { matchListFilters, pruneSelector, validateListFilters } from './filters.js';
import { ANONYMOUS_LABEL, anonymousVolumeName, checkVolumeName } from './names.js';
import { localMountOptions, mountArgs, validateLocalOptions } from './options.js';
import {
  isMountPoint,
  rfc3339,
  VOLUME_SCHEMA_VERSION,
  VolumeStore,
  type VolumeRecord,
} from './store.js';

export interface VolumeEvents {
  (action: string, name: string, attributes: Record<string, string>): void;
}

export interface CreateVolumeOptions {
  /** Omitted or '': a random 64-hex name. */
  name?: string;
  /** Created for one container (`-v /path`, VOLUME): labelled so `prune` without --all takes it. */
  anonymous?: boolean;
  driver?: string;
  driverOpts?: Record<string, string> | null;
  labels?: Record<string, string> | null;
  /**
   * Reference the volume for this container in the same step, so that a concurrent prune
   * cannot take a volume between its creation and its first reference.
   */
  referenceBy?: string;
}

/**
 * Volumes of the local driver.
 *
 * Vocabulary: a volume is *referenced* by every container whose configuration names it
 * (created, running or stopped: Docker refuses `volume rm` for any of them), and *active* for
 * each running container that has it mounted. A volume with driver options (`type`, `device`,
 * `o`) has its filesystem mounted on _data when it first becomes active and unmounted when the
 * last active user goes; a plain volume is just the directory.
 *
 * References and active users are not persisted here: they are rebuilt from the container
 * records when the daemon starts (`restore`), and `reconcileMounts` then unmounts what no
 * running container uses. Operations on one volume are serialised by a keyed mutex.
 */
export class VolumeService {
  readonly store: VolumeStore;
  private readonly mutex = new KeyedMutex();
  private readonly refs = new Map<string, Set<string>>();
  private readonly active = new Map<string, Set<string>>();

  constructor(
    root: string,
    private readonly log: Logger,
    private readonly emit: VolumeEvents = () => undefined,
  ) {
    this.store = new VolumeStore(root, log);
  }

  async open(): Promise<void> {
    await this.store.load();
  }

  // ---- the volumes API ----------------------------------------------------------------

  /** Create a volume, or return the existing one of that name (as Docker does). */
  async create(opts: CreateVolumeOptions): Promise<Volume> {
    const anonymous = opts.anonymous === true;
    const name = opts.name || anonymousVolumeName();
    checkVolumeName(name);
    const driver = opts.driver || 'local';
    if (driver !== 'local') {
      throw notFound(
        `create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`,
      );
    }
    const options = opts.driverOpts ?? {};
    try {
      validateLocalOptions(options);
    } catch (err) {
      throw invalidArgument(`create ${name}: ${errorMessage(err)}`);
    }
    return this.mutex.run(name, async () => {
      const existing = this.store.get(name);
      if (existing) {
        if (opts.referenceBy) this.reference(name, opts.referenceBy);
        return this.view(existing);
      }
      const labels = opts.labels ?? null;
      const rec: VolumeRecord = {
        schemaVersion: VOLUME_SCHEMA_VERSION,
        Name: name,
        Driver: 'local',
        CreatedAt: rfc3339(new Date()),
        Labels: anonymous ? { ...labels, [ANONYMOUS_LABEL]: '' } : labels,
        Options: Object.keys(options).length > 0 ? { ...options } : null,
      };
      await this.store.create(rec);
      if (opts.referenceBy) this.reference(name, opts.referenceBy);
      this.emit('create', name, { driver: 'local' });
      return this.view(rec);
    });
  }

  inspect(name: string): Volume {
    return this.view(this.get(name));
  }

  list(filters: Filters): { Volumes: Volume[]; Warnings: string[] | null } {
    validateListFilters(filters);
    const vols = this.store
      .all()
      .filter((r) => matchListFilters(filters, { ...r, inUse: this.inUse(r.Name) }))
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0))
      .map((r) => this.view(r));
    return { Volumes: vols, Warnings: null };
  }

  /**
   * Every volume with its `UsageData` (`GET /system/df`): the bytes under its data directory
   * and how many containers reference it.
   */
  async usage(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const rec of this.store.all()) {
      const size = await dirSize(this.store.dataDir(rec.Name)).catch(() => -1);
      const RefCount = this.refs.get(rec.Name)?.size ?? 0;
      out.push({ ...this.view(rec), UsageData: { Size: size, RefCount } });
    }
    return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  }

  /**
   * Remove a volume no container references. `force` (Docker's) only makes a missing volume
   * no error; a volume in use is always refused.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.mutex.run(name, async () => {
      if (!this.store.get(name)) {
        if (opts.force) return;
        throw notFound(`get ${name}: no such volume`);
      }
      const users = [...(this.refs.get(name) ?? [])];
      if (users.length > 0) {
        throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      }
      await this.removeLocked(name);
    });
  }

  async prune(
    filters: Filters,
    opts: { allByDefault: boolean },
  ): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    const select = pruneSelector(filters, opts.allByDefault);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const rec of this.store.all()) {
      await this.mutex.run(rec.Name, async () => {
        if (!this.store.get(rec.Name)) return;
        if (!select({ ...rec, inUse: this.inUse(rec.Name) })) return;
        const size = await dirSize(this.store.dataDir(rec.Name));
        try {
          await this.removeLocked(rec.Name);
        } catch (err) {
          this.log.warn({ err, volume: rec.Name }, 'prune: could not remove volume');
          return;
        }
        deleted.push(rec.Name);
        reclaimed += size;
      });
    }
    this.emit('prune', '', { reclaimed: String(reclaimed) });
    return { VolumesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  private async removeLocked(name: string): Promise<void> {
    const data = this.store.dataDir(name);
    // A mount left on _data (a crash while active) goes first: never delete through it.
    if (await isMountPoint(data)) await this.unmountData(name);
    await this.store.remove(name);
    this.refs.delete(name);
    this.active.delete(name);
    this.emit('destroy', name, { driver: 'local' });
  }

  // ---- what containers use -------------------------------------------------------------

  /** Record that container `cid` uses volume `name` (throws when it does not exist). */
  reference(name: string, cid: string): void {
    this.get(name);
    let set = this.refs.get(name);
    if (!set) this.refs.set(name, (set = new Set()));
    set.add(cid);
  }

  unreference(name: string, cid: string): void {
    const set = this.refs.get(name);
    set?.delete(cid);
    if (set?.size === 0) this.refs.delete(name);
  }

  inUse(name: string): boolean {
    return (this.refs.get(name)?.size ?? 0) > 0;
  }

  /**
   * Make the volume ready for container `cid` and return its host path: mount its filesystem
   * if it has one and is not mounted yet, then copy `copyFrom` (the image's content at the
   * mount point) into it if it is empty. Idempotent per container.
   */
  async mount(
    name: string,
    cid: string,
    copyFrom?: string,
    at?: { destination: string; rw: boolean; propagation: string },
  ): Promise<string> {
    return this.mutex.run(name, async () => {
      const rec = this.get(name);
      const data = this.store.dataDir(name);
      const users = this.active.get(name) ?? new Set<string>();
      const m = localMountOptions(rec.Options);
      if (m && !(await isMountPoint(data))) {
        const res = await run(mountArgs(m, data), { allowFailure: true });
        if (res.exitCode !== 0) {
          throw new WharfError(
            'internal',
            'ERR_VOLUME_MOUNT',
            `error while mounting volume '${data}': failed to mount local volume: ${res.stderr.trim() || `mount exited ${res.exitCode}`}`,
          );
        }
      }
      users.add(cid);
      this.active.set(name, users);
      if (copyFrom) {
        try {
          await copyUp(copyFrom, data);
        } catch (err) {
          throw internal(`copying image content into volume ${name}: ${errorMessage(err)}`, err);
        }
      }
      this.emit('mount', name, {
        container: cid,
        ...(at ? { destination: at.destination } : {}),
        driver: 'local',
        ...(at ? { propagation: at.propagation, 'read/write': String(at.rw) } : {}),
      });
      return data;
    });
  }

  /** Container `cid` no longer has the volume mounted; the last one out unmounts it. */
  async unmount(name: string, cid: string): Promise<void> {
    await this.mutex.run(name, async () => {
      const users = this.active.get(name);
      if (!users?.has(cid)) return;
      users.delete(cid);
      this.emit('unmount', name, { container: cid, driver: 'local' });
      if (users.size > 0) return;
      this.active.delete(name);
      const rec = this.store.get(name);
      if (!rec || !localMountOptions(rec.Options)) return;
      if (await isMountPoint(this.store.dataDir(name))) await this.unmountData(name);
    });
  }

  /** After a restart: container `cid` is running with the volume (mounted before the crash). */
  restoreActive(name: string, cid: string): void {
    if (!this.store.get(name)) return;
    let set = this.active.get(name);
    if (!set) this.active.set(name, (set = new Set()));
    set.add(cid);
  }

  /** Unmount option volumes that no running container uses (left by a crash). */
  async reconcileMounts(): Promise<void> {
    for (const rec of this.store.all()) {
      if (!localMountOptions(rec.Options) || (this.active.get(rec.Name)?.size ?? 0) > 0) continue;
      await this.mutex.run(rec.Name, async () => {
        if (await isMountPoint(this.store.dataDir(rec.Name))) {
          await this.unmountData(rec.Name).catch((err) =>
            this.log.warn({ err, volume: rec.Name }, 'unmounting unused volume'),
          );
        }
      });
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  private get(name: string): VolumeRecord {
    const rec = this.store.get(name);
    if (!rec) throw notFound(`get ${name}: no such volume`);
    return rec;
  }

  private async unmountData(name: string): Promise<void> {
    const data = this.store.dataDir(name);
    const res = await run(['umount', '--', data], { allowFailure: true });
    if (res.exitCode !== 0 && (await isMountPoint(data))) {
      throw internal(`unmounting volume ${name}: ${res.stderr.trim()}`);
    }
  }

  private view(rec: VolumeRecord): Volume {
    return {
      CreatedAt: rec.CreatedAt,
      Driver: rec.Driver,
      Labels: sortedMap(rec.Labels),
      Mountpoint: this.store.dataDir(rec.Name),
      Name: rec.Name,
      Options: sortedMap(rec.Options),
      Scope: 'local',
    };
  }
}

/** Maps with their keys in order, as Go's encoding/json writes them. */
function sortedMap(m: Record<string, string> | null): Record<string, string> | null {
  if (!m) return m;
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
