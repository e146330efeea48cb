import { promises as fsp } from 'node:fs';
import path from 'node:path';

import {
  conflict,
  isErrno,
  notFound,
  readJson,
  writeJsonAtomic,
  type Logger,
} from '../common/index.js';
import { RECORD_SCHEMA_VERSION, type ContainerRecord } from './record.js';

const RECORD_FILE = 'container.json';

/**
 * In-memory index of container records, backed by one JSON file per container.
 * Names are unique; lookups accept a full ID, a name (with or without '/'), or a unique ID prefix.
 */
export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly log: Logger,
  ) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  async load(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o710 });
    for (const id of await fsp.readdir(this.root)) {
      try {
        const rec = await readJson<ContainerRecord>(path.join(this.root, id, RECORD_FILE));
        if (!rec || rec.Id !== id) {
          // A create interrupted before its record was written: nothing refers to it.
          this.log.warn({ container: id }, 'removing container directory without a record');
          await fsp.rm(path.join(this.root, id), { recursive: true, force: true });
          continue;
        }
        this.index(rec);
      } catch (err) {
        this.log.error({ err, container: id }, 'cannot load container record; skipping');
      }
    }
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Resolve an ID, name or unique ID prefix; Docker's message when nothing matches. */
  get(ref: string): ContainerRecord {
    const rec = this.find(ref);
    if (!rec) throw notFound(`No such container: ${ref}`, 'ERR_NO_SUCH_CONTAINER');
    return rec;
  }

  find(ref: string): ContainerRecord | undefined {
    if (ref === '') return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.byName.get(ref.startsWith('/') ? ref.slice(1) : ref);
    if (byName) return this.byId.get(byName);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: ContainerRecord | undefined;
    for (const [id, rec] of this.byId) {
      if (!id.startsWith(ref)) continue;
      if (found) throw conflict(`multiple containers found with provided prefix: ${ref}`);
      found = rec;
    }
    return found;
  }

  nameTaken(name: string): string | undefined {
    return this.byName.get(name);
  }

  /** Reserve a name before the create is persisted, so two racing creates cannot both take it. */
  reserveName(name: string, id: string): void {
    const holder = this.byName.get(name);
    if (holder && holder !== id) {
      throw conflict(
        `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.byName.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.byName.get(name) === id) this.byName.delete(name);
  }

  /**
   * Persist a record atomically. `durable: false` skips the fsyncs (about 3 ms here): for the
   * state changes of a start or an exit, which kill -9 cannot tear (the rename is atomic and
   * the page cache survives the daemon) and which reconcile re-derives from the runtime after
   * a power loss anyway. A container's existence and its name are saved durably.
   */
  async save(
    rec: ContainerRecord,
    opts: { durable?: boolean; index?: boolean } = {},
  ): Promise<void> {
    rec.schemaVersion = RECORD_SCHEMA_VERSION;
    await fsp.mkdir(this.dir(rec.Id), { recursive: true, mode: 0o710 });
    await writeJsonAtomic(path.join(this.dir(rec.Id), RECORD_FILE), rec, 0o600, {
      durable: opts.durable,
    });
    // index: false for a record already forgotten (being removed): saved, not listed again.
    if (opts.index !== false) this.index(rec);
  }

  /** Drop a record from the index (its name is free again); its files stay until delete. */
  forget(rec: ContainerRecord): void {
    if (this.byId.get(rec.Id) === rec) this.byId.delete(rec.Id);
    this.releaseName(rec.Name.slice(1), rec.Id);
  }

  async delete(rec: ContainerRecord): Promise<void> {
    // Drop the record first: a crash after this leaves a directory that load() cleans up.
    try {
      await fsp.rm(path.join(this.dir(rec.Id), RECORD_FILE));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    this.forget(rec);
    await fsp.rm(this.dir(rec.Id), { recursive: true, force: true });
  }

  private index(rec: ContainerRecord): void {
    this.byId.set(rec.Id, rec);
    this.byName.set(rec.Name.slice(1), rec.Id);
  }
}
