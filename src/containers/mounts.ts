/**
 * A container's mounts: planned at create (volumes created and referenced, Docker's
 * validation), readied at each start (volumes mounted, copy-up, bind sources checked) and
 * turned into OCI mounts, released at exit and removal. The plan is kept in the record
 * (`runtime.mounts`) and shown as `Mounts` in inspect and list.
 */
import { existsSync, promises as fsp } from 'node:fs';

import type { ContainerConfig, HostConfig, MountPoint } from '../api-types/index.js';
import { errorKind, invalidArgument, type Logger } from '../common/index.js';
import type { OciMount } from '../oci/index.js';
import { parseTmpfsOptions } from '../runtime/index.js';
import { resolveInRoot } from './confine.js';
import {
  anonymousTarget,
  checkMountFieldTypes,
  parseBind,
  parseMount,
  parseVolumesFrom,
  type MountSpec,
} from './mounts-parse.js';
import type { VolumesPort } from './mounts-port.js';
import type { ContainerRecord } from './record.js';

/** A planned mount as the record keeps it: Docker's MountPoint plus what a start needs. */
export interface MountRecord extends MountSpec {
  /** The volume's name (volumes only). */
  Name?: string;
  Driver?: string;
  /** Created for this container: `rm -v` removes it. */
  anonymous?: boolean;
}

const duplicate = (dest: string): Error => invalidArgument(`Duplicate mount point: ${dest}`);

export class ContainerMounts {
  constructor(
    private readonly volumes: VolumesPort,
    private readonly log: Logger,
  ) {}

  /**
   * Docker's registerMountPoints: --volumes-from first, then binds (-v) and --mount, which
   * may not share a destination, then Config.Volumes (the image's VOLUMEs and `-v /path`)
   * as anonymous volumes where nothing else is mounted. Creates and references volumes.
   */
  async plan(
    id: string,
    config: ContainerConfig,
    hc: HostConfig,
    findContainer: (ref: string) => ContainerRecord,
  ): Promise<MountRecord[]> {
    checkMountFieldTypes(hc as Record<string, unknown>, config.Volumes);
    const byDest = new Map<string, MountRecord>();
    for (const spec of hc.VolumesFrom ?? []) {
      const { ref, mode } = parseVolumesFrom(spec);
      const src = findContainer(ref);
      const rw = !mode.split(',').includes('ro');
      for (const m of src.runtime.mounts ?? []) {
        byDest.set(m.Destination, { ...m, RW: m.RW && rw, Mode: '', copyData: false });
      }
    }
    const user = new Set<string>();
    const add = (m: MountRecord): void => {
      if (user.has(m.Destination)) throw duplicate(m.Destination);
      user.add(m.Destination);
      byDest.set(m.Destination, m);
    };
    // --volume-driver applies to -v volumes and Config.Volumes (not --mount, which says its own).
    const driver = hc.VolumeDriver ? { driver: hc.VolumeDriver } : undefined;
    for (const raw of hc.Binds ?? []) {
      const m: MountRecord = parseBind(raw);
      if (m.Type === 'volume' && driver) m.volume = driver;
      add(m);
    }
    for (const m of hc.Mounts ?? []) add(parseMount(m, existsSync));
    const tmpfs = new Set(Object.keys(hc.Tmpfs ?? {}).map((d) => d.replace(/(.)\/+$/, '$1')));
    for (const d of tmpfs) if (user.has(d)) throw duplicate(d);
    const fromConfig = new Set<MountRecord>();
    for (const dest of Object.keys(config.Volumes ?? {})) {
      const target = anonymousTarget(dest);
      if (byDest.has(target) || tmpfs.has(target)) continue;
      const m: MountRecord = {
        Type: 'volume',
        Source: '',
        Destination: target,
        RW: true,
        Mode: '',
        Propagation: '',
        copyData: true,
        ...(driver ? { volume: driver } : {}),
      };
      fromConfig.add(m);
      byDest.set(target, m);
    }

    const planned = [...byDest.values()];
    const referenced: MountRecord[] = [];
    try {
      for (const m of planned) {
        if (m.Type !== 'volume') continue;
        if (!m.Name) {
          const anonymous = m.Source === '';
          const v = await this.volumes.create({
            name: anonymous ? undefined : m.Source,
            anonymous,
            driver: m.volume?.driver,
            driverOpts: m.volume?.driverOpts,
            labels: m.volume?.labels,
            referenceBy: id,
          });
          m.Name = v.Name;
          m.Driver = v.Driver;
          m.Source = v.Mountpoint;
          if (anonymous) m.anonymous = true;
          // dockerd shows local volumes from -v and --mount with the SELinux-style "z" mode.
          if (m.Mode === '' && !fromConfig.has(m)) m.Mode = 'z';
        } else {
          this.volumes.reference(m.Name, id);
        }
        delete m.volume;
        referenced.push(m);
      }
    } catch (err) {
      await this.release(id, referenced, true);
      throw err;
    }
    return planned;
  }

  /** Ready every mount for a start; on failure, what was mounted is released again. */
  async setup(rec: ContainerRecord, rootfs: string): Promise<OciMount[]> {
    const out: OciMount[] = [];
    const mounted: MountRecord[] = [];
    try {
      for (const m of rec.runtime.mounts ?? []) {
        const ro = m.RW ? [] : ['ro'];
        if (m.Type === 'volume') {
          const copyFrom = m.copyData ? await resolveInRoot(rootfs, m.Destination) : undefined;
          const data = await this.volumes.mount(m.Name!, rec.Id, copyFrom, {
            destination: m.Destination,
            rw: m.RW,
            propagation: m.Propagation,
          });
          mounted.push(m);
          const source = m.subpath ? await volumeSubpath(data, m.subpath) : data;
          out.push({
            destination: m.Destination,
            type: 'bind',
            source,
            options: ['rbind', ...ro, m.Propagation || 'rprivate'],
          });
        } else if (m.Type === 'bind') {
          if (!existsSync(m.Source)) {
            if (!m.createSource) {
              throw invalidArgument(
                `invalid mount config for type "bind": bind source path does not exist: ${m.Source}`,
              );
            }
            await fsp.mkdir(m.Source, { recursive: true, mode: 0o755 });
          }
          await checkPropagationSource(m.Source, m.Propagation);
          out.push({
            destination: m.Destination,
            type: 'bind',
            source: m.Source,
            options: [m.nonRecursive ? 'bind' : 'rbind', ...ro, m.Propagation || 'rprivate'],
          });
        } else {
          out.push({
            destination: m.Destination,
            type: 'tmpfs',
            source: 'tmpfs',
            options: parseTmpfsOptions(m.tmpfsData ?? '').options,
          });
        }
      }
    } catch (err) {
      await this.teardownList(rec.Id, mounted);
      throw err;
    }
    return out;
  }

  /** The container's run ended: its volumes are no longer mounted for it. */
  async teardown(rec: ContainerRecord): Promise<void> {
    await this.teardownList(rec.Id, rec.runtime.mounts ?? []);
  }

  private async teardownList(id: string, mounts: MountRecord[]): Promise<void> {
    for (const m of mounts) {
      if (m.Type !== 'volume' || !m.Name) continue;
      await this.volumes
        .unmount(m.Name, id)
        .catch((err) => this.log.warn({ err, container: id, volume: m.Name }, 'volume unmount'));
    }
  }

  /**
   * The container is gone: drop its references; with `removeAnonymous` (rm -v, --rm) also
   * remove its anonymous volumes, unless another container still uses one (not an error).
   */
  async release(id: string, mounts: MountRecord[], removeAnonymous: boolean): Promise<void> {
    for (const m of mounts) {
      if (m.Type !== 'volume' || !m.Name) continue;
      this.volumes.unreference(m.Name, id);
      if (!removeAnonymous || !m.anonymous) continue;
      await this.volumes.remove(m.Name).catch((err: unknown) => {
        const kind = errorKind(err);
        if (kind !== 'conflict' && kind !== 'not-found')
          this.log.warn({ err, container: id, volume: m.Name }, 'removing anonymous volume');
      });
    }
  }

  /** After a daemon restart: rebuild references (and active users of running containers). */
  restore(records: ContainerRecord[]): void {
    for (const rec of records) {
      for (const m of rec.runtime.mounts ?? []) {
        if (m.Type !== 'volume' || !m.Name) continue;
        try {
          this.volumes.reference(m.Name, rec.Id);
          if (rec.State.Running) this.volumes.restoreActive(m.Name, rec.Id);
        } catch (err) {
          this.log.warn({ err, container: rec.Id, volume: m.Name }, 'volume of container is gone');
        }
      }
    }
  }
}

/** A volume's subdirectory, symlinks confined to the volume; it must exist (as dockerd). */
async function volumeSubpath(data: string, subpath: string): Promise<string> {
  const p = await resolveInRoot(data, subpath);
  const st = await fsp.stat(p).catch(() => undefined);
  if (!st) throw invalidArgument(`cannot access path ${p}: no such file or directory`);
  return p;
}

/**
 * As dockerd: shared propagation needs the source to sit on a shared mount, slave propagation
 * on a shared or slave one; otherwise no event could ever cross and the request is refused.
 */
async function checkPropagationSource(source: string, propagation: string): Promise<void> {
  const shared = propagation === 'shared' || propagation === 'rshared';
  const slave = propagation === 'slave' || propagation === 'rslave';
  if (!shared && !slave) return;
  const real = await fsp.realpath(source);
  let best: { point: string; optional: string[] } | undefined;
  for (const line of (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f.length < 7 || sep < 6) continue;
    const point = f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) =>
      String.fromCharCode(parseInt(o, 8)),
    );
    const inside = point === '/' || real === point || real.startsWith(`${point}/`);
    if (inside && (!best || point.length >= best.point.length))
      best = { point, optional: f.slice(6, sep) };
  }
  if (!best) return;
  const isShared = best.optional.some((o) => o.startsWith('shared:'));
  const isSlave = best.optional.some((o) => o.startsWith('master:'));
  if (shared && !isShared)
    throw invalidArgument(
      `path ${source} is mounted on ${best.point} but it is not a shared mount`,
    );
  if (slave && !isShared && !isSlave)
    throw invalidArgument(
      `path ${source} is mounted on ${best.point} but it is not a shared or slave mount`,
    );
}

/** Docker's MountPoint list for inspect and list. */
export function mountPointsView(rec: ContainerRecord): MountPoint[] {
  return (rec.runtime.mounts ?? []).map((m) => ({
    Type: m.Type,
    ...(m.Name ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Driver ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}
