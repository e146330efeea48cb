import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { applyLayer, type Compression } from '../archive/index.js';
import {
  conflict,
  DeferredFlush,
  errorKind,
  internal,
  invalidArgument,
  isErrno,
  KeyedMutex,
  notFound,
  readBootId,
  readJson,
  run,
  syncDir,
  writeJsonAtomic,
  type Logger,
} from '../common/index.js';
import { digestHex, isDigest, sha256Digest, type Digest, type OciMount } from '../oci/index.js';
import {
  overlayMountArgs,
  overlayMountOptions,
  overlayViewOptions,
  validSnapshotID,
} from './mount-options.js';
import type { LayerInfo, Snapshotter, Usage } from './snapshotter.js';
import { dirUsage } from './usage.js';
import type { ApplyLayerOptions } from './snapshotter.js';
import { planLayerRecovery, type FoundLayer } from './layer-recovery.js';

/** statfs magic of overlayfs. */
const OVERLAYFS_MAGIC = 0x794c7630;

interface LayerRecord extends LayerInfo {
  schemaVersion: 1;
  /** Short name under l/ (a symlink to ../<chainhex>/diff), keeps mount options small. */
  link: string;
  /**
   * The boot the layer was written in: until the `flushed` marker exists beside the record,
   * the layer is complete only if the machine has not gone down since (layer-recovery.ts).
   * Absent in records of versions that flushed before the rename.
   */
  boot?: string;
}

/** An empty file: created, never written, so a crash cannot tear it. */
const FLUSHED_MARKER = 'flushed';

export interface OverlayOptions {
  /** The background flusher of the data root's filesystem (shared with the content store). */
  flusher?: DeferredFlush;
  /** The running boot's id (tests fake a reboot with it); read from /proc when absent. */
  bootId?: string;
}

interface SnapshotRecord {
  schemaVersion: 1;
  id: string;
  parent?: Digest;
}

/**
 * Overlayfs snapshotter. On disk, under `root`:
 *   <chainhex>/diff/          a committed layer, unpacked
 *   <chainhex>/layer.json     its LayerRecord
 *   l/<link>                  symlink → ../<chainhex>/diff (short lowerdir names)
 *   containers/<id>/{upper,work}, containers/<id>/snapshot.json
 *   tmp/                      layers being unpacked, trees being deleted (wiped on open)
 *   empty/                    the lowerdir of a snapshot whose image has no layers
 *   <chainhex>/flushed        present once the layer is known to be on disk
 * A layer is unpacked into tmp/ and renamed into place: `<chainhex>/` existing means the layer
 * is complete. Its data is flushed in the background after the rename (a kill -9 keeps the
 * page cache); layer.json names the boot it was written in, and open() discards the layers a
 * machine crash may have torn (see layer-recovery.ts).
 */
export class OverlaySnapshotter implements Snapshotter {
  private readonly locks = new KeyedMutex();
  /**
   * Layer records read, by chain ID, and the `l/` links known to exist: a record never
   * changes while its layer exists, and every container's create and start reads its
   * image's chain. Forgotten when the layer is removed.
   */
  private readonly records = new Map<Digest, LayerRecord>();
  private readonly links = new Set<string>();

  private constructor(
    readonly root: string,
    private readonly logger: Logger,
    private readonly flusher: DeferredFlush,
    private readonly bootId: string,
  ) {}

  static async open(
    root: string,
    logger: Logger,
    opts: OverlayOptions = {},
  ): Promise<OverlaySnapshotter> {
    const abs = path.resolve(root);
    await fsp.mkdir(abs, { recursive: true, mode: 0o700 });
    const s = new OverlaySnapshotter(
      abs,
      logger,
      opts.flusher ?? new DeferredFlush(abs, logger),
      opts.bootId ?? (await readBootId()),
    );
    await fsp.rm(path.join(s.root, 'tmp'), { recursive: true, force: true });
    for (const d of ['tmp', 'l', 'containers', 'empty']) {
      await fsp.mkdir(path.join(s.root, d), { recursive: true, mode: 0o700 });
    }
    await s.recoverLayers();
    await s.reconcileLinks();
    return s;
  }

  /** Wait for the background flushes (a clean shutdown). */
  async close(): Promise<void> {
    await this.flusher.drain();
  }

  /**
   * Discard the layers a machine crash may have torn (and every layer and snapshot built on
   * them); schedule the flush of this boot's unflushed layers (the daemon was killed).
   */
  private async recoverLayers(): Promise<void> {
    const found: FoundLayer[] = [];
    for (const hex of await fsp.readdir(this.root)) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const dir = path.join(this.root, hex);
      const record = await readJson<LayerRecord>(path.join(dir, 'layer.json')).catch(
        () => undefined, // torn by a crash: the layer is incomplete
      );
      const flushed = await fsp.access(path.join(dir, FLUSHED_MARKER)).then(
        () => true,
        () => false,
      );
      found.push({ hex, ...(record ? { record } : {}), flushed });
    }
    const plan = planLayerRecovery(found, this.bootId);
    if (plan.discard.length > 0) {
      const gone = new Set(plan.discard.map((d) => `sha256:${d.hex}`));
      for (const snap of await this.readSnapshots()) {
        const chain = snap.parent === undefined ? [] : await this.chainIDs(snap.parent);
        if (!chain.some((c) => gone.has(c))) continue;
        this.logger.warn(
          { snapshot: snap.id, parent: snap.parent },
          'snapshots: dropping a snapshot built on a layer lost to a machine crash',
        );
        // Its container stays, and fails to start with "snapshot not found" (rm works).
        await this.discard(this.snapshotDir(snap.id)).catch((err: unknown) =>
          this.logger.warn({ err, snapshot: snap.id }, 'snapshots: dropping a snapshot'),
        );
      }
    }
    for (const { hex, reason } of plan.discard) {
      this.logger.warn({ layer: `sha256:${hex}`, reason }, 'snapshots: discarding layer');
      await this.discard(path.join(this.root, hex));
    }
    for (const { hex, link } of plan.reflush) this.flushLater(hex, link);
    this.records.clear();
    this.links.clear();
  }

  /** Chain IDs from `top` down, as far as records are readable (for recovery). */
  private async chainIDs(top: Digest): Promise<Digest[]> {
    const out: Digest[] = [];
    for (let c: Digest | undefined = top; c !== undefined && out.length <= 1000;) {
      out.push(c);
      const rec: LayerRecord | undefined = await readJson<LayerRecord>(
        path.join(this.layerDir(c), 'layer.json'),
      ).catch(() => undefined);
      c = rec?.parent;
    }
    return out;
  }

  /** Mark the layer flushed once a background syncfs has covered it. */
  private flushLater(hex: string, link: string): void {
    const chainID: Digest = `sha256:${hex}`;
    this.flusher.after(`layer ${chainID}`, () =>
      // Under the layer's lock, and only if it is still the unpack that asked (its random
      // link): a layer removed and unpacked again while the flush ran was not covered by it.
      this.locks.run(chainID, async () => {
        const rec = await this.readLayer(chainID).catch(() => undefined);
        if (rec?.link !== link) return;
        // Created, not written: a crash cannot tear it; if it is lost the layer is re-checked
        // (and discarded after a reboot), the safe direction.
        await (await fsp.open(path.join(this.root, hex, FLUSHED_MARKER), 'a')).close();
      }),
    );
  }

  /** Recreate links lost to a crash after a rename, drop links whose layer is gone. */
  private async reconcileLinks(): Promise<void> {
    const wanted = new Map<string, string>();
    for (const l of await this.readLayerRecords()) wanted.set(l.link, digestHex(l.chainID));
    for (const name of await fsp.readdir(path.join(this.root, 'l'))) {
      const target = await fsp.readlink(path.join(this.root, 'l', name)).catch(() => '');
      if (wanted.get(name) !== undefined && target === `../${wanted.get(name)}/diff`)
        wanted.delete(name);
      else {
        this.links.delete(name);
        await fsp.rm(path.join(this.root, 'l', name), { force: true });
      }
    }
    for (const [link, hex] of wanted) await this.ensureLink(link, hex);
  }

  private async ensureLink(link: string, hex: string): Promise<void> {
    if (this.links.has(link)) return;
    try {
      await fsp.symlink(`../${hex}/diff`, path.join(this.root, 'l', link));
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    this.links.add(link);
  }

  private layerDir(chainID: Digest): string {
    if (!isDigest(chainID)) throw invalidArgument(`invalid chain ID: ${chainID}`);
    return path.join(this.root, digestHex(chainID));
  }

  private snapshotDir(id: string): string {
    if (!validSnapshotID(id)) throw invalidArgument(`invalid snapshot ID: ${id}`);
    return path.join(this.root, 'containers', id);
  }

  snapshotDirs(id: string): { upper: string; work: string } {
    const dir = this.snapshotDir(id);
    return { upper: path.join(dir, 'upper'), work: path.join(dir, 'work') };
  }

  private async readLayer(chainID: Digest): Promise<LayerRecord | undefined> {
    const known = this.records.get(chainID);
    if (known) return known;
    const rec = await readJson<LayerRecord>(path.join(this.layerDir(chainID), 'layer.json'));
    if (rec) this.records.set(chainID, rec);
    return rec;
  }

  private async readLayerRecords(): Promise<LayerRecord[]> {
    const out: LayerRecord[] = [];
    for (const name of await fsp.readdir(this.root)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const rec = await readJson<LayerRecord>(path.join(this.root, name, 'layer.json'));
      if (rec) out.push(rec);
    }
    return out;
  }

  async hasLayer(chainID: Digest): Promise<boolean> {
    return (await this.readLayer(chainID)) !== undefined;
  }

  async layer(chainID: Digest): Promise<LayerInfo> {
    const rec = await this.readLayer(chainID);
    if (!rec) throw notFound(`layer ${chainID} not found`, 'ERR_NO_SUCH_LAYER');
    return publicInfo(rec);
  }

  async listLayers(): Promise<LayerInfo[]> {
    return (await this.readLayerRecords()).map(publicInfo);
  }

  async applyLayer(
    parent: Digest | undefined,
    tar: Readable | AsyncIterable<Uint8Array>,
    opts: ApplyLayerOptions = {},
  ): Promise<LayerInfo & { compression: Compression }> {
    const checkParent = async (): Promise<void> => {
      if (parent !== undefined && !(await this.hasLayer(parent))) {
        throw notFound(`parent layer ${parent} not found`, 'ERR_NO_SUCH_LAYER');
      }
    };
    if (opts.commitAfter === undefined) await checkParent();
    else opts.commitAfter.catch(() => {}); // awaited below, after the unpack
    const tmp = path.join(this.root, 'tmp', randomBytes(8).toString('hex'));
    const done = this.flusher.begin();
    try {
      await fsp.mkdir(path.join(tmp, 'diff'), { recursive: true, mode: 0o700 });
      const applied = await applyLayer(tar, path.join(tmp, 'diff'), { logger: this.logger });
      if (opts.expectedDiffID !== undefined && applied.diffID !== opts.expectedDiffID) {
        throw invalidArgument(
          `layer diffID mismatch: got ${applied.diffID}, expected ${opts.expectedDiffID}`,
        );
      }
      const chainID =
        parent === undefined ? applied.diffID : sha256Digest(`${parent} ${applied.diffID}`);
      const rec: LayerRecord = {
        schemaVersion: 1,
        chainID,
        diffID: applied.diffID,
        ...(parent !== undefined ? { parent } : {}),
        size: applied.size,
        tarSize: applied.tarSize,
        created: new Date().toISOString(),
        link: randomLink(),
        boot: this.bootId,
      };
      await writeJsonAtomic(path.join(tmp, 'layer.json'), rec, 0o600, { durable: false });
      // No flush before the rename: kill -9 keeps the page cache, and after a machine crash
      // open() discards the layer unless the background flush below marked it.
      if (opts.commitAfter !== undefined) {
        await opts.commitAfter;
        await checkParent();
      }
      return await this.locks.run(chainID, async () => {
        const existing = await this.readLayer(chainID);
        if (existing) return { ...publicInfo(existing), compression: applied.compression };
        await fsp.rename(tmp, this.layerDir(chainID));
        // No directory fsync either: the syncfs below carries the rename with the data.
        await this.ensureLink(rec.link, digestHex(chainID));
        this.flushLater(digestHex(chainID), rec.link);
        return { ...publicInfo(rec), compression: applied.compression };
      });
    } finally {
      done();
      // Gone after a successful rename; otherwise a failed or duplicate unpack.
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  async removeLayer(chainID: Digest): Promise<void> {
    await this.locks.run(chainID, async () => {
      const rec = await this.readLayer(chainID);
      if (!rec) throw notFound(`layer ${chainID} not found`, 'ERR_NO_SUCH_LAYER');
      if ((await this.readLayerRecords()).some((l) => l.parent === chainID)) {
        throw conflict(`layer ${chainID} has child layers`, 'ERR_LAYER_IN_USE');
      }
      for (const snap of await this.readSnapshots()) {
        if (
          snap.parent !== undefined &&
          (await this.chain(snap.parent)).some((l) => l.chainID === chainID)
        ) {
          throw conflict(`layer ${chainID} is used by snapshot ${snap.id}`, 'ERR_LAYER_IN_USE');
        }
      }
      this.records.delete(chainID);
      this.links.delete(rec.link);
      await this.discard(this.layerDir(chainID));
      await fsp.rm(path.join(this.root, 'l', rec.link), { force: true });
    });
  }

  /** Rename out of sight first (atomic), then delete at leisure; tmp/ is wiped on open. */
  private async discard(dir: string): Promise<void> {
    const tmp = path.join(this.root, 'tmp', `rm-${randomBytes(8).toString('hex')}`);
    await fsp.rename(dir, tmp);
    await syncDir(path.dirname(dir));
    await fsp.rm(tmp, { recursive: true, force: true });
  }

  /** The records of a chain, top first. */
  private async chain(chainID: Digest | undefined): Promise<LayerRecord[]> {
    const out: LayerRecord[] = [];
    for (let c = chainID; c !== undefined;) {
      const rec = await this.readLayer(c);
      if (!rec) throw notFound(`layer ${c} not found`, 'ERR_NO_SUCH_LAYER');
      out.push(rec);
      c = rec.parent;
      if (out.length > 1000) throw internal(`layer chain of ${chainID} loops`);
    }
    return out;
  }

  async diffDirs(chainID: Digest | undefined): Promise<string[]> {
    return (await this.chain(chainID)).map((l) => path.join(this.layerDir(l.chainID), 'diff'));
  }

  private async readSnapshots(): Promise<SnapshotRecord[]> {
    const out: SnapshotRecord[] = [];
    for (const id of await fsp.readdir(path.join(this.root, 'containers'))) {
      const rec = await readJson<SnapshotRecord>(
        path.join(this.root, 'containers', id, 'snapshot.json'),
      );
      if (rec) out.push(rec);
    }
    return out;
  }

  async prepare(id: string, parent: Digest | undefined): Promise<void> {
    const dir = this.snapshotDir(id);
    const tmp = path.join(this.root, 'tmp', `snap-${randomBytes(8).toString('hex')}`);
    const rec: SnapshotRecord = {
      schemaVersion: 1,
      id,
      ...(parent !== undefined ? { parent } : {}),
    };
    // The parent chain is checked beside the making: this is on `docker run`'s path. The
    // directory is private until renamed into place, so its files need no atomic writes.
    // No fsyncs (3 of them, ~3 ms): the caller's record, saved durably after this, is what
    // makes the container exist, and its journal commit carries this earlier rename with it on
    // a journalling filesystem; kill -9 loses no completed rename.
    const made = fsp
      .mkdir(tmp, { mode: 0o755 })
      .then(() =>
        Promise.all([
          fsp.mkdir(path.join(tmp, 'upper'), { mode: 0o755 }),
          fsp.mkdir(path.join(tmp, 'work'), { mode: 0o700 }),
          fsp.writeFile(path.join(tmp, 'snapshot.json'), JSON.stringify(rec), { mode: 0o600 }),
        ]),
      );
    const checked = parent !== undefined ? this.chain(parent) : undefined; // must exist, whole
    const [m, c] = await Promise.allSettled([made, checked]);
    try {
      if (m.status === 'rejected') throw m.reason;
      if (c.status === 'rejected') throw c.reason;
      await fsp.rename(tmp, dir);
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      if (isErrno(err, 'EEXIST') || isErrno(err, 'ENOTEMPTY')) {
        throw conflict(`snapshot ${id} already exists`, 'ERR_SNAPSHOT_EXISTS');
      }
      throw err;
    }
  }

  async mount(id: string, target: string, readonly = false): Promise<void> {
    const rec = await readJson<SnapshotRecord>(path.join(this.snapshotDir(id), 'snapshot.json'));
    if (!rec) throw notFound(`snapshot ${id} not found`, 'ERR_NO_SUCH_SNAPSHOT');
    const layers = await this.chain(rec.parent);
    for (const l of layers) await this.ensureLink(l.link, digestHex(l.chainID));
    const options = overlayMountOptions({
      lowerdirs: layers.length > 0 ? layers.map((l) => `l/${l.link}`) : ['empty'],
      upperdir: `containers/${id}/upper`,
      workdir: `containers/${id}/work`,
      readonly,
    });
    // Relative paths in the options resolve against mount's cwd: the root.
    await run(overlayMountArgs(path.resolve(target), options), { cwd: this.root });
  }

  /**
   * A read-only view of a container's filesystem at `target` (for export and commit): an
   * overlay of the image's layers with the container's upper dir as the topmost lower one.
   * Whiteouts and opaque directories there are honoured as in any lower layer, and the upper
   * dir is not claimed as one, so the container can be started meanwhile. Unmount with
   * unmount().
   */
  async mountView(id: string, target: string): Promise<void> {
    const rec = await readJson<SnapshotRecord>(path.join(this.snapshotDir(id), 'snapshot.json'));
    if (!rec) throw notFound(`snapshot ${id} not found`, 'ERR_NO_SUCH_SNAPSHOT');
    const layers = await this.chain(rec.parent);
    for (const l of layers) await this.ensureLink(l.link, digestHex(l.chainID));
    const lowerdirs = [`containers/${id}/upper`, ...layers.map((l) => `l/${l.link}`)];
    // overlay wants two lower layers at least when there is no upper one.
    if (lowerdirs.length === 1) lowerdirs.push('empty');
    const options = overlayViewOptions(lowerdirs);
    await run(overlayMountArgs(path.resolve(target), options), { cwd: this.root });
  }

  /**
   * The snapshot as the OCI mount of a container's root, for runc to make inside the
   * container's own mount namespace (nothing is mounted on the host: it goes with the
   * namespace). runc resolves no relative path, so the options name absolute ones; undefined
   * when they would not fit in a page (images of ~90 layers and more are mounted on the host).
   */
  async rootfsMount(id: string, parent?: Digest | ''): Promise<OciMount | undefined> {
    // The parent as prepare() is given it ('' for none), so that both can run at once.
    let top: Digest | undefined;
    if (parent !== undefined) top = parent || undefined;
    else {
      const rec = await readJson<SnapshotRecord>(path.join(this.snapshotDir(id), 'snapshot.json'));
      if (!rec) throw notFound(`snapshot ${id} not found`, 'ERR_NO_SUCH_SNAPSHOT');
      top = rec.parent;
    }
    const layers = await this.chain(top);
    for (const l of layers) await this.ensureLink(l.link, digestHex(l.chainID));
    const root = path.resolve(this.root);
    let options: string;
    try {
      options = overlayMountOptions({
        lowerdirs:
          layers.length > 0
            ? layers.map((l) => path.join(root, 'l', l.link))
            : [path.join(root, 'empty')],
        upperdir: path.join(root, 'containers', id, 'upper'),
        workdir: path.join(root, 'containers', id, 'work'),
      });
    } catch (err) {
      if (errorKind(err) === 'invalid-argument') return undefined;
      throw err;
    }
    return { destination: '/', type: 'overlay', source: 'overlay', options: options.split(',') };
  }

  /**
   * Whether an overlay is mounted at target, by a statfs. Where the target's own filesystem
   * is overlay (the daemon itself in a container) this cannot tell, and says yes.
   */
  async isMounted(target: string): Promise<boolean> {
    const st = await fsp.statfs(target).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
    return st !== undefined && st.type === OVERLAYFS_MAGIC;
  }

  async unmount(target: string): Promise<void> {
    // No umount process where no overlay is (unmount is called on the exit path and again on
    // the remove path); where isMounted cannot tell, umount decides.
    if (!(await this.isMounted(target))) return;
    const res = await run(['umount', '--', target], { allowFailure: true });
    if (res.exitCode !== 0 && !/not mounted|no mount point/i.test(res.stderr)) {
      throw internal(`umount ${target}: ${res.stderr.trim()}`);
    }
  }

  /**
   * Rename the container's layer into tmp/ (atomic: the snapshot is gone), then delete the
   * tree in the background, off the caller's path (tmp/ is wiped on open, so a crash or a
   * shutdown mid-delete loses nothing). No directory fsync: the records that refer to a
   * snapshot are deleted after this, so a rename lost to a power cut leaves an orphan directory,
   * never a record without its snapshot; kill -9 loses no completed rename.
   */
  async remove(id: string): Promise<void> {
    const dir = this.snapshotDir(id);
    try {
      const tmp = path.join(this.root, 'tmp', `rm-${randomBytes(8).toString('hex')}`);
      await fsp.rename(dir, tmp);
      void fsp
        .rm(tmp, { recursive: true, force: true })
        .catch((err: unknown) => this.logger.warn({ err, dir: tmp }, 'deleting a snapshot'));
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw notFound(`snapshot ${id} not found`, 'ERR_NO_SUCH_SNAPSHOT');
      throw err;
    }
  }

  async usage(what: { chainID: Digest } | { id: string }): Promise<Usage> {
    const dir =
      'chainID' in what
        ? path.join(this.layerDir(what.chainID), 'diff')
        : path.join(this.snapshotDir(what.id), 'upper');
    try {
      return await dirUsage(dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw notFound(`${dir}: not found`);
      throw err;
    }
  }
}

function publicInfo(rec: LayerRecord): LayerInfo {
  const { chainID, diffID, parent, size, tarSize, created } = rec;
  return { chainID, diffID, ...(parent !== undefined ? { parent } : {}), size, tarSize, created };
}

/** 20 base32 characters: short in mount options, and unguessable (never derived from input). */
function randomLink(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(20)].map((b) => alphabet[b & 31]).join('');
}
