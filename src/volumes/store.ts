import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno, syncDir, writeJsonAtomic, type Logger } from '../common/index.js';
import { validVolumeName } from './names.js';

export const VOLUME_SCHEMA_VERSION = 1;

/** What Wharf persists per volume: <root>/<name>/volume.json beside <root>/<name>/_data. */
export interface VolumeRecord {
  schemaVersion: number;
  Name: string;
  Driver: 'local';
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
}

const STAGING = '.staging-';
const TRASH = '.trash-';

/**
 * Volume records and data directories. A volume appears and disappears with one rename, so
 * `kill -9` at any instant leaves either the whole volume or none of it:
 *   create: build <root>/.staging-X/{volume.json,_data}, fsync, rename to <root>/<name>
 *   remove: rename <root>/<name> to <root>/.trash-X, fsync, then delete the trash
 * Leftover staging and trash directories are deleted when the store opens.
 */
export class VolumeStore {
  private readonly records = new Map<string, VolumeRecord>();

  constructor(
    readonly root: string,
    private readonly log: Logger,
  ) {}

  dir(name: string): string {
    return path.join(this.root, name);
  }

  dataDir(name: string): string {
    return path.join(this.root, name, '_data');
  }

  async load(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const entry of await fsp.readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const name = entry.name;
      if (name.startsWith(STAGING) || name.startsWith(TRASH)) {
        // Half-created or half-removed by a crash: nothing refers to it.
        await this.purge(path.join(this.root, name));
        continue;
      }
      if (!validVolumeName(name)) continue;
      try {
        const rec = await this.readRecord(name);
        if (rec) this.records.set(name, rec);
      } catch (err) {
        this.log.warn({ err, volume: name }, 'unreadable volume record; skipped');
      }
    }
  }

  private async readRecord(name: string): Promise<VolumeRecord | undefined> {
    const dir = this.dir(name);
    try {
      const rec = JSON.parse(await fsp.readFile(path.join(dir, 'volume.json'), 'utf8'));
      return rec as VolumeRecord;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    // A directory with _data and no record (copied in by hand, as Docker's local driver allows):
    // adopt it as a plain volume.
    const st = await fsp.stat(path.join(dir, '_data')).catch(() => undefined);
    if (!st?.isDirectory()) return undefined;
    return {
      schemaVersion: VOLUME_SCHEMA_VERSION,
      Name: name,
      Driver: 'local',
      CreatedAt: rfc3339(st.ctime),
      Labels: null,
      Options: null,
    };
  }

  get(name: string): VolumeRecord | undefined {
    return this.records.get(name);
  }

  all(): VolumeRecord[] {
    return [...this.records.values()];
  }

  async create(rec: VolumeRecord): Promise<void> {
    const staging = path.join(this.root, `${STAGING}${randomBytes(6).toString('hex')}`);
    await fsp.mkdir(path.join(staging, '_data'), { recursive: true, mode: 0o755 });
    try {
      await fsp.chmod(staging, 0o701);
      await fsp.chmod(path.join(staging, '_data'), 0o755);
      await writeJsonAtomic(path.join(staging, 'volume.json'), rec, 0o600);
      await fsp.rename(staging, this.dir(rec.Name));
      await syncDir(this.root);
    } catch (err) {
      await this.purge(staging);
      throw err;
    }
    this.records.set(rec.Name, rec);
  }

  /** Drop the record and the data. The caller made sure nothing is mounted on _data. */
  async remove(name: string): Promise<void> {
    const trash = path.join(this.root, `${TRASH}${randomBytes(6).toString('hex')}`);
    try {
      await fsp.rename(this.dir(name), trash);
      await syncDir(this.root);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    this.records.delete(name);
    await this.purge(trash);
  }

  private async purge(dir: string): Promise<void> {
    // Never descend into a mount (a bind-mounted host directory would be emptied).
    if (await hasMountUnder(dir)) {
      this.log.warn({ dir }, 'volume directory still has a mount; left in place');
      return;
    }
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Docker's CreatedAt: RFC 3339 to the second. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Mount points listed in /proc/self/mountinfo (octal escapes decoded). */
export async function mountPoints(): Promise<string[]> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) =>
        String.fromCharCode(parseInt(o, 8)),
      ),
    );
}

export async function isMountPoint(p: string): Promise<boolean> {
  return (await mountPoints()).includes(p);
}

async function hasMountUnder(dir: string): Promise<boolean> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await mountPoints()).some((m) => m === dir || m.startsWith(prefix));
}
