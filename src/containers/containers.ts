import { filterMatchKVList, parseTimestamp } from '../api-types/index.js';
import { invalidArgument, type Logger } from '../common/index.js';
import { ExecService } from './exec.js';
import { ContainerIO, type AttachOptions, type Conn, type LogsOptions } from './io.js';
import { ExitMonitor } from './monitor.js';
import type { ExecExitPort, RuntimePort } from './ports.js';
import { openCommitSource } from './commit-source.js';
import { exportContainer, releaseStaleExportViews } from './export.js';
import { changes, top } from './query.js';
import type { ContainerRecord } from './record.js';
import { ContainerService, type ContainerServiceOptions } from './service.js';
import { filterContainers, inspectView, summaryView } from './views.js';

export interface ContainersOptions extends ContainerServiceOptions {
  runtime: RuntimePort & ExecExitPort;
  /** The log files of a container, rotated ones first. */
  logFiles: (id: string) => Promise<string[]>;
  /** Whether `ref` (a name or ID) names the image `imageId` (for the ancestor filter). */
  imageMatches: (imageId: string, ref: string) => boolean;
  /** Bytes of an image's layers, for SizeRootFs. */
  imageSize: (imageId: string) => Promise<number>;
}

/**
 * The containers service as the API (and later CRI) sees it: lifecycle, I/O, exec and
 * queries over one store.
 */
export class Containers {
  readonly svc: ContainerService;
  readonly io: ContainerIO;
  readonly exec: ExecService;
  readonly monitor: ExitMonitor;

  constructor(private readonly opts: ContainersOptions) {
    this.svc = new ContainerService(opts);
    this.io = new ContainerIO(
      this.svc,
      opts.runtime,
      opts.logFiles,
      opts.log.child({ module: 'io' }),
    );
    this.exec = new ExecService(this.svc, opts.runtime, opts.log.child({ module: 'exec' }));
    this.monitor = new ExitMonitor(this.svc, opts.runtime, opts.log.child({ module: 'monitor' }));
  }

  async open(): Promise<void> {
    await releaseStaleExportViews(this.opts.execDir, this.opts.snapshots);
    await this.svc.store.load();
    // Volume references before reconcile: exits it processes release volume mounts.
    this.svc.mounts.restore(this.svc.store.all());
    await this.monitor.start();
    await this.monitor.reconcile();
  }

  /** Stop watching exits, after the releases of removed containers have finished. */
  async close(): Promise<void> {
    this.monitor.stop();
    await this.svc.settled();
    await this.svc.releasePremounts();
  }

  get log(): Logger {
    return this.opts.log;
  }

  // lifecycle
  create = (body: Parameters<ContainerService['create']>[0], name?: string) =>
    this.svc.create(body, name);
  start = (ref: string) => this.svc.start(ref);
  stop = (ref: string, o: { signal?: string; timeout?: number }) => this.svc.stop(ref, o);
  restart = (ref: string, o: { signal?: string; timeout?: number }) => this.svc.restart(ref, o);
  kill = (ref: string, signal?: string) => this.svc.kill(ref, signal);
  wait = (ref: string, c: 'not-running' | 'next-exit' | 'removed', s?: AbortSignal) =>
    this.svc.wait(ref, c, s);
  rename = (ref: string, name: string) => this.svc.rename(ref, name);
  pause = (ref: string) => this.svc.pause(ref);
  unpause = (ref: string) => this.svc.unpause(ref);

  async remove(ref: string, o: { force?: boolean; volumes?: boolean }): Promise<void> {
    const id = this.svc.store.get(ref).Id;
    await this.svc.remove(ref, o);
    this.exec.dropContainer(id);
  }

  // queries
  async list(o: {
    all: boolean;
    limit?: number;
    size: boolean;
    filters: Map<string, string[]>;
  }): Promise<unknown[]> {
    const recs = filterContainers(this.svc.store.all(), o, {
      find: (r) => this.svc.store.find(r),
      matchesImage: (rec, ref) =>
        rec.runtime.imageRef === ref || this.opts.imageMatches(rec.Image, ref),
    });
    return Promise.all(
      recs.map(async (r) => ({
        ...summaryView(r, r.runtime.imageRef),
        ...(o.size ? await this.sizes(r) : {}),
      })),
    );
  }

  async inspect(ref: string, size: boolean): Promise<unknown> {
    const rec = this.svc.store.get(ref);
    return { ...inspectView(rec), ...(size ? await this.sizes(rec) : {}) };
  }

  /** Docker's SizeRw (the writable layer) and SizeRootFs (image plus writable layer). */
  private async sizes(rec: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const [rw, image] = await Promise.all([
      this.opts.snapshots.sizeRw(rec.Id),
      this.opts.imageSize(rec.Image),
    ]);
    return { SizeRw: rw, SizeRootFs: rw + image };
  }

  isTty(ref: string): boolean {
    return this.svc.store.get(ref).Config.Tty ?? false;
  }

  top = (ref: string, psArgs: string) => top(this.opts.runtime, this.svc.store.get(ref), psArgs);
  changes = (ref: string) => changes(this.opts.snapshots, this.svc.store.get(ref));
  commitSource = (ref: string, opts: { pause: boolean; exclude?: string[] | undefined }) =>
    openCommitSource(
      { store: this.svc.store, runtime: this.opts.runtime, snapshots: this.opts.snapshots },
      ref,
      opts,
    );
  export = async (ref: string) => {
    const rec = this.svc.store.get(ref);
    return exportContainer(rec, {
      snapshots: this.opts.snapshots,
      execDir: this.opts.execDir,
      log: this.opts.log,
      // Created and mounted at create: a view would stack a second overlay on its upper dir.
      live: await this.svc.hostRootMounted(rec.Id),
    });
  };

  /**
   * dockerd's ContainersPrune: every container not running (nor paused or restarting) that
   * the `until` and `label`/`label!` filters select; SpaceReclaimed sums their writable layers.
   */
  async prune(
    filters: Map<string, string[]>,
  ): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    for (const key of filters.keys()) {
      if (!PRUNE_FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
    }
    const until = filters.get('until')?.map((u) => parseTimestamp(u) * 1000);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const rec of this.svc.store.all()) {
      if (rec.State.Running || rec.State.Paused || rec.State.Restarting) continue;
      if (until && !until.every((t) => Date.parse(rec.Created) < t)) continue;
      const labels = rec.Config.Labels ?? {};
      if (!filterMatchKVList(filters, 'label', labels)) continue;
      if ((filters.get('label!') ?? []).some((l) => labelMatches(labels, l))) continue;
      const size = await this.opts.snapshots.sizeRw(rec.Id).catch(() => 0);
      try {
        await this.remove(rec.Id, {});
      } catch (err) {
        // Started or removed meanwhile: not prunable any more, as dockerd skips it.
        this.opts.log.warn({ err, container: rec.Id }, 'prune: container not removed');
        continue;
      }
      deleted.push(rec.Id);
      reclaimed += size;
    }
    this.opts.events.publish('container', 'prune', {
      ID: '',
      Attributes: { reclaimed: String(reclaimed) },
    });
    return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // I/O
  logs = (ref: string, o: LogsOptions, signal: AbortSignal) => this.io.logs(ref, o, signal);
  attach = (ref: string, o: AttachOptions, conn: Conn) => this.io.attach(ref, o, conn);
  resize = (ref: string, h: number, w: number) => this.io.resize(ref, h, w);
}

const PRUNE_FILTERS = new Set(['until', 'label', 'label!']);

/** `label!=k` excludes containers with label k; `label!=k=v` those where k is v. */
function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  const key = eq < 0 ? filter : filter.slice(0, eq);
  if (!Object.hasOwn(labels, key)) return false;
  return eq < 0 || labels[key] === filter.slice(eq + 1);
}
