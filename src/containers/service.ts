import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { ContainerCreateRequest, HostConfig } from '../api-types/index.js';
import {
  conflict,
  errorMessage,
  invalidArgument,
  KeyedMutex,
  notModified,
  WharfError,
  writeFileAtomic,
  type Logger,
} from '../common/index.js';
import type { OciMount } from '../oci/index.js';
import { checkContainerNetworkMode, joinedNetns, onDefaultBridge } from '../network/index.js';
import { RuntimeStartError } from '../runtime/index.js';
import { emptyState, type ContainerRecord } from './record.js';
import { hostsFile, readHostResolvConf, resolvConf, withHostGateway } from './etc-files.js';
import {
  DEFAULT_PATH,
  mergeConfig,
  normalizeHostConfig,
  processArgs,
  validateCreateRequest,
} from './merge.js';
import {
  EARLY_TASK_MS,
  earlyEligible,
  MAX_EARLY_TASKS,
  SPARE_LULL_MS,
  SPARE_TASK_MS,
  spareFits,
  spareFitsRecord,
  taskInputs,
  type EarlyTask,
  type PreparedTask,
  type SpareTask,
} from './early-task.js';
import { ContainerMounts } from './mounts.js';
import type { VolumesPort } from './mounts-port.js';
import { randomName, validName } from './names.js';
import type {
  AttachedNetworks,
  CreateTaskOptions,
  EventsPort,
  ImagesPort,
  NetworkPort,
  PublishPorts,
  RuntimePort,
  SnapshotsPort,
} from './ports.js';
import { parseSignal, signalNumber } from './signals.js';
import { ContainerStore } from './store.js';
import {
  numericUser,
  resolveUserIn,
  resolveUserInRootfs,
  userFilesIn,
  type UserFiles,
} from './user.js';
import { withView } from './export.js';
import { resolveInRoot } from './confine.js';
import { Waiters, type WaitCondition } from './waiters.js';

/** Builds the OCI runtime spec (runtime/spec) — injected so this layer stays testable. */
export type SpecBuilder = (input: {
  id: string;
  rootfs: string;
  /** The root as a mount the runtime makes in the container's namespace (rootfs is empty). */
  rootMount?: OciMount;
  rec: ContainerRecord;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  netns: { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
  /** Volumes, binds and tmpfs mounts of the container (containers/mounts.ts). */
  mounts: OciMount[];
}) => unknown;

export interface ContainerServiceOptions {
  /** data-root/containers: records, etc files, logs. */
  dataDir: string;
  /** exec-root/containers: bundles and rootfs mount points. */
  execDir: string;
  images: ImagesPort;
  snapshots: SnapshotsPort;
  runtime: RuntimePort;
  network: NetworkPort;
  events: EventsPort;
  buildSpec: SpecBuilder;
  volumes: VolumesPort;
  /** Validates the log driver and its options (throws invalidArgument). */
  validateLogConfig: (type: string, opts: Record<string, string>) => void;
  log: Logger;
}

export const nowIso = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');

/**
 * The exit code Docker records when a process cannot be started: the runtime classifies its
 * failure (127 not found, 126 not executable); anything else gets `fallback`.
 */
export function startFailureCode(err: unknown, fallback: number): number {
  return err instanceof RuntimeStartError && err.exitCode !== undefined ? err.exitCode : fallback;
}

/**
 * Container lifecycle: create → start → (pause ⇄ unpause) → exit → start again or remove.
 * One operation per container at a time (KeyedMutex); an exit noticed from the runtime's exit
 * file is processed under the same lock. Records are saved after every transition.
 */
export class ContainerService {
  readonly store: ContainerStore;
  readonly waiters = new Waiters();
  /** Volumes, binds and tmpfs mounts: planned at create, readied at start (mounts.ts). */
  readonly mounts: ContainerMounts;
  private readonly mutex = new KeyedMutex();
  private readonly opts: ContainerServiceOptions;
  private readonly log: Logger;
  /** Listeners told when a container's run ends (attach streams end on it). */
  private readonly exitListeners = new Map<string, Set<() => void>>();
  /** Listeners told when a container has started (stdin attached before start waits on it). */
  private readonly startListeners = new Map<string, Set<() => void>>();
  /** Resource releases of removed containers still under way (see removeLocked). */
  private readonly releasing = new Set<Promise<void>>();
  /** Rootfs mounts begun at create, for the start that usually follows (see premount). */
  private readonly premounts = new Map<string, Promise<boolean>>();
  /** /etc/passwd and /etc/group of images, by image ID (see userFiles). */
  private readonly imageUserFiles = new Map<string, Promise<UserFiles>>();
  /** Tasks made ahead of their start, for containers just created (see prepareEarly). */
  private readonly earlyTasks = new Map<string, EarlyTask>();
  /** The task started ahead of any create (see SpareTask), and whether to make no more. */
  private spare?: SpareTask;
  private closingSpares = false;
  /** Pending until the lull after a start in which the next spare is begun (scheduleSpare). */
  private spareTimer?: NodeJS.Timeout;

  constructor(opts: ContainerServiceOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.store = new ContainerStore(opts.dataDir, opts.log);
    this.mounts = new ContainerMounts(opts.volumes, opts.log.child({ module: 'mounts' }));
  }

  bundleDir(id: string): string {
    return path.join(this.opts.execDir, id);
  }

  logPath(id: string): string {
    return path.join(this.store.dir(id), 'container.log');
  }

  // ---- create -------------------------------------------------------------------------------

  async create(
    req: ContainerCreateRequest,
    name?: string,
  ): Promise<{ Id: string; Warnings: string[] }> {
    const { phases, lap } = phaseTimer();
    // A start usually follows (`docker run`): the kernel's wait to move its process into its
    // cgroups begins now, beside everything until then.
    this.opts.runtime.warmCgroups();
    if (!req || typeof req !== 'object')
      throw invalidArgument('config cannot be empty in order to create a container');
    req = validateCreateRequest(req);
    if (!req.Image) throw invalidArgument('No image specified');
    if (name !== undefined && name !== '' && !validName(name)) {
      throw invalidArgument(
        `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    }
    const hostConfig = normalizeHostConfig(req.HostConfig);
    checkContainerNetworkMode({
      ...req,
      HostConfig: hostConfig,
      endpoints: req.NetworkingConfig?.EndpointsConfig,
    });
    // As dockerd: a `container:<name>` target that exists now is recorded by its ID (one that
    // does not is kept by name and looked up at start).
    if (hostConfig.NetworkMode!.startsWith('container:')) {
      const target = this.store.find(hostConfig.NetworkMode!.slice('container:'.length));
      if (target) hostConfig.NetworkMode = `container:${target.Id}`;
    }
    this.opts.validateLogConfig(hostConfig.LogConfig!.Type, hostConfig.LogConfig!.Config ?? {});
    const networks = this.opts.network.planNetworks(
      hostConfig.NetworkMode!,
      req.NetworkingConfig?.EndpointsConfig,
    );
    this.opts.network.checkPorts(publishRequest(hostConfig, req.ExposedPorts));
    lap('check');
    const image = await this.opts.images.resolve(req.Image);
    lap('image');
    // The spare task's ID when this container can take it (its conmon and runc are started).
    const spare = this.takeSpare({
      mode: hostConfig.NetworkMode!,
      networks,
      tty: req.Tty,
      openStdin: req.OpenStdin,
      logType: hostConfig.LogConfig!.Type,
    });
    const id = spare?.id ?? randomBytes(32).toString('hex');
    // A spare due to be begun waits until this container's start is done too.
    if (this.spareTimer) this.scheduleSpare();
    let config: ContainerRecord['Config'];
    let args: string[];
    let cname: string;
    try {
      const hostname =
        hostConfig.NetworkMode === 'host' && !req.Hostname ? os.hostname() : id.slice(0, 12);
      config = mergeConfig(req, image.config, hostname);
      args = processArgs(config);
      cname = name
        ? name.replace(/^\//, '')
        : randomName((n) => this.store.nameTaken(n) !== undefined);
      this.store.reserveName(cname, id);
    } catch (err) {
      // No command, a name in use…: the spare goes, its directory with it (no container).
      if (spare) {
        spare.taken = false;
        await this.discardSpare(spare);
      }
      throw err;
    }
    let mounts: ContainerRecord['runtime']['mounts'];
    try {
      mounts = await this.mounts.plan(id, config, hostConfig, (r) => this.store.get(r));
      const dir = this.store.dir(id);
      const rec: ContainerRecord = {
        schemaVersion: 1,
        Id: id,
        Created: nowIso(),
        Path: args[0]!,
        Args: args.slice(1),
        State: emptyState(),
        Image: image.id,
        ResolvConfPath: path.join(dir, 'resolv.conf'),
        HostnamePath: path.join(dir, 'hostname'),
        HostsPath: path.join(dir, 'hosts'),
        LogPath: hostConfig.LogConfig!.Type === 'none' ? '' : path.join(dir, 'container.log'),
        Name: `/${cname}`,
        RestartCount: 0,
        Driver: 'overlay2',
        Platform: 'linux',
        Config: config,
        HostConfig: hostConfig,
        NetworkSettings: { SandboxKey: '', Networks: {} },
        runtime: {
          imageRef: req.Image,
          parentChainID: image.topChainID,
          user: { uid: 0, gid: 0, additionalGids: [] },
          mounts,
          ...(networks.length > 0 ? { networks } : {}),
        },
      };
      lap('plan');
      await fsp.mkdir(dir, { recursive: true, mode: 0o710 });
      // The root mount's options (the layers' paths) are read beside the snapshot's making; a
      // root runc cannot mount is mounted on the host (premount).
      const root = Promise.all([
        this.opts.snapshots.prepare(id, image.topChainID),
        this.rootMountFor(rec, image.topChainID),
      ]).then(([, rootMount]) => {
        if (!rootMount) this.premount(id);
        return { rootMount };
      });
      // The task is begun beside the snapshot's making and the record's durable save, and
      // goes on after the answer; it hands runc its spec once the snapshot exists. A crash
      // before the save leaves it to reconcile (reapOrphans).
      this.prepareEarly(rec, root, spare);
      // (Never so: spareFits implies earlyEligible. Its start would make a task of its own.)
      if (spare && !spare.handed) await this.discardSpare(spare);
      await root;
      lap('snapshot');
      await this.store.save(rec);
      lap('save');
      this.emit(rec, 'create');
      this.log.debug({ container: id, phases }, 'create timing');
      return { Id: id, Warnings: [] };
    } catch (err) {
      await this.dropEarlyTask(id);
      // A spare taken and not handed to an early task (that one undoes it itself).
      if (spare && !spare.handed) await this.discardSpare(spare);
      if (await this.takePremount(id)) await this.releaseIdleMount(id).catch(() => undefined);
      this.store.releaseName(cname, id);
      if (mounts) await this.mounts.release(id, mounts, true);
      await this.opts.snapshots.remove(id).catch(() => undefined);
      await fsp.rm(this.store.dir(id), { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Mount the new container's rootfs now, off the create request's path: `docker run` sends
   * its start a few milliseconds later, and the mount (a `mount` process, ~5 ms) is then done
   * or nearly. Its result is only a head start: the start mounts again if this failed, and
   * whatever releases a container's task waits for it first (see cleanupTask). A daemon
   * restart forgets it; reconcile unmounts the rootfs of every container that is not running.
   */
  private premount(id: string): void {
    const pending = this.mountRootfs(id).then(
      () => true,
      (err: unknown) => {
        this.log.debug({ err, container: id }, 'rootfs mount at create failed; start retries');
        return false;
      },
    );
    this.premounts.set(id, pending);
  }

  /** The bundle directory with the container's overlay mounted at <bundle>/rootfs. */
  private async mountRootfs(id: string): Promise<void> {
    const rootfs = path.join(this.bundleDir(id), 'rootfs');
    await fsp.mkdir(rootfs, { recursive: true, mode: 0o700 });
    await this.opts.snapshots.mount(id, rootfs);
  }

  /** The rootfs mounted at create, if that worked; forgets it either way. */
  private async takePremount(id: string): Promise<boolean> {
    const pending = this.premounts.get(id);
    if (pending === undefined) return false;
    this.premounts.delete(id);
    return pending;
  }

  /**
   * Whether the container's root is mounted on the host at <bundle>/rootfs (a created
   * container's premount, or a running one's host mount), after any mount under way. A root
   * that runc mounted in the container's namespace is not.
   */
  async hostRootMounted(id: string): Promise<boolean> {
    await this.earlyTasks.get(id)?.ready;
    await this.premounts.get(id);
    return this.opts.snapshots.isMounted(path.join(this.bundleDir(id), 'rootfs'));
  }

  /** Reconcile: a container that is not running has no rootfs mount (see premount). */
  async releaseIdleMount(id: string): Promise<void> {
    await this.opts.snapshots.unmount(path.join(this.bundleDir(id), 'rootfs'));
  }

  // ---- start --------------------------------------------------------------------------------

  async start(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    this.goEarly(rec);
    await this.mutex.run(rec.Id, async () => {
      if (rec.State.Status === 'removing')
        throw conflict(`container ${rec.Id} is marked for removal and cannot be started`);
      if (rec.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
      if (rec.State.Running) throw notModified();
      try {
        await this.startLocked(rec);
      } catch (err) {
        // As Docker: a --rm container that cannot start is removed (the CLI waits for that).
        if (rec.HostConfig.AutoRemove) await this.removeLocked(rec).catch(() => undefined);
        throw err;
      }
    });
  }

  private async startLocked(rec: ContainerRecord): Promise<void> {
    const id = rec.Id;
    const { phases, lap } = phaseTimer();
    const prevState = rec.State;
    let task: PreparedTask | undefined;
    try {
      task = await this.takeEarlyTask(rec);
      phases['early'] = task ? 1 : 0;
      task ??= await this.prepareTask(rec, lap);
      await this.launchTask(rec, task, lap);
    } catch (err) {
      rec.State = prevState;
      await this.undoTask(rec);
      // A failure to clear the exit file or to mount: nothing ran, no start error recorded.
      if (err instanceof UnrecordedStartFailure) throw err.cause;
      const message = errorMessage(err);
      this.log.debug({ err, container: id }, 'start failed');
      rec.State.Error = message;
      rec.State.ExitCode = startFailureCode(err, 128);
      await this.store.save(rec);
      if (err instanceof WharfError && err.kind !== 'internal') throw err;
      throw new WharfError(
        'invalid-argument',
        'ERR_START',
        `failed to create task for container: ${message}`,
        { cause: err },
      );
    }
    this.emit(rec, 'start');
    fire(this.startListeners, rec.Id);
    this.log.debug({ container: id, phases }, 'start timing');
    // The next container like this one finds conmon and runc started (see SpareTask).
    if (spareFitsRecord(rec)) this.scheduleSpare();
  }

  /**
   * Everything a start does before the container's process may run: rootfs, network
   * namespace and interfaces, etc files, the spec and `runc create` under conmon (the init
   * waits on runc's exec fifo). Nothing here is visible through the API: the record's state,
   * NetworkSettings and published ports are set by launchTask. It also runs ahead of the
   * start, for a container just created (see prepareEarly). On failure the caller undoes.
   */
  private async prepareTask(
    rec: ContainerRecord,
    lap: (phase: string) => void,
    hint: {
      root?: Promise<{ rootMount?: OciMount }>;
      fresh?: boolean;
      early?: EarlyTask;
      spare?: SpareTask;
    } = {},
  ): Promise<PreparedTask> {
    const id = rec.Id;
    const inputs = taskInputs(rec);
    const bundle = this.bundleDir(id);
    const hc = rec.HostConfig;
    // `--network container:<x>`: the running target's namespace, looked up now (as dockerd:
    // at create the target need not exist). Its etc files are shared, not written here.
    const mode = hc.NetworkMode ?? 'bridge';
    const joinsOwner = mode.startsWith('container:')
      ? this.store.get(mode.slice('container:'.length))
      : undefined;
    const joinedPath = joinsOwner ? joinedNetns(id, joinsOwner) : undefined;

    // conmon and `runc create` start now and wait for the spec (see SpecFifos): their own
    // startup overlaps everything below. A failure below rejects the spec, which aborts them.
    // A spare task (see SpareTask) was started so, before the create.
    const { spec: specReady, created } =
      hint.spare ??
      this.beginTask({
        id,
        bundle,
        logPath: rec.LogPath || path.join(bundle, 'discard.log'),
        tty: rec.Config.Tty ?? false,
        openStdin: rec.Config.OpenStdin ?? false,
        stdinOnce: rec.Config.StdinOnce ?? false,
      });
    try {
      const prepared = await this.prepareSpec(rec, lap, hint, { joinsOwner, joinedPath });
      specReady.resolve(prepared.json);
      // An early task whose start has come releases the process as soon as runc allows.
      let release: Promise<void> | undefined;
      const early = hint.early;
      if (early) {
        early.arm = () => {
          release ??= this.opts.runtime.start(id, created);
          release.catch(() => undefined);
        };
        if (early.go) early.arm();
      }
      const { pid, conmonPid } = await created.finally(() => early && delete early.arm);
      lap('create');
      return {
        inputs,
        attached: prepared.attached,
        pid,
        conmonPid,
        hostRoot: prepared.hostRoot,
        ...(release ? { release } : {}),
      };
    } catch (err) {
      specReady.reject(err);
      await created.catch(() => undefined);
      throw err;
    }
  }

  /**
   * prepareTask's part before the runtime reads the spec: rootfs, network, etc files, user,
   * mounts, and the spec itself (as JSON).
   */
  private async prepareSpec(
    rec: ContainerRecord,
    lap: (phase: string) => void,
    hint: { root?: Promise<{ rootMount?: OciMount }>; fresh?: boolean },
    join: { joinsOwner?: ContainerRecord; joinedPath?: string },
  ): Promise<{ json: string; attached: AttachedNetworks | undefined; hostRoot: boolean }> {
    const id = rec.Id;
    const bundle = this.bundleDir(id);
    const rootfs = path.join(bundle, 'rootfs');
    const hc = rec.HostConfig;
    const mode = hc.NetworkMode ?? 'bridge';
    const { joinsOwner, joinedPath } = join;

    // Independent steps at once: clearing a previous run's exit file; the rootfs mount; the
    // network namespace with its veth (one `unshare … ip -batch` and one host `ip` where the
    // network offers it), then the etc files that name its addresses.
    const ownNetns = mode !== 'host' && mode !== 'none' && !joinsOwner;
    const wired = async (): Promise<{
      attached: AttachedNetworks | undefined;
      etc: Promise<void>;
    }> => {
      const [attached, hostResolv] = await Promise.all([
        ownNetns
          ? this.opts.network.attach(id, {
              defaultBridge: onDefaultBridge(rec),
              networks: rec.runtime.networks ?? [],
              names: [rec.Name.slice(1), id.slice(0, 12)],
              upstreams: hc.Dns ?? undefined,
            })
          : undefined,
        readHostResolvConf(),
      ]);
      if (joinsOwner) {
        // As dockerd: the joiner takes the target's hostname and bind-mounts the target's
        // hosts, resolv.conf and hostname files (inspect shows the target's paths).
        rec.Config.Hostname = joinsOwner.Config.Hostname;
        rec.Config.Domainname = joinsOwner.Config.Domainname ?? '';
        rec.HostsPath = joinsOwner.HostsPath;
        rec.ResolvConfPath = joinsOwner.ResolvConfPath;
        rec.HostnamePath = joinsOwner.HostnamePath;
        return { attached, etc: Promise.resolve() };
      }
      // Written while the spec is built; awaited before runc reads them.
      const etc = writeEtcFiles(rec, attached, hostResolv);
      etc.catch(() => undefined);
      return { attached, etc };
    };
    // The root: mounted by runc inside the container's mount namespace (rootMount), or, for a
    // container whose volumes are filled from the image or whose image has too many layers
    // for one mount's options, mounted here on the host (at create, or now).
    // A just-created container's (hint.root) is decided at create, beside its snapshot.
    const root: Promise<{ rootMount?: OciMount }> =
      hint.root ??
      (this.premounts.has(id)
        ? Promise.resolve({})
        : this.rootMountFor(rec).then((rootMount) => ({ rootMount })));
    const [cleared, mounted, connected] = await Promise.allSettled([
      // A container just created has had no run to leave an exit file.
      hint.fresh ? undefined : this.opts.runtime.clearExit(id),
      root.then(async ({ rootMount }) => {
        if (rootMount) await fsp.mkdir(rootfs, { recursive: true, mode: 0o700 });
        else if (!(await this.takePremount(id))) await this.mountRootfs(id);
        return rootMount;
      }),
      wired(),
    ]);
    lap('mountNetwork');
    if (cleared.status === 'rejected') throw new UnrecordedStartFailure(cleared.reason);
    if (mounted.status === 'rejected') throw new UnrecordedStartFailure(mounted.reason);
    if (connected.status === 'rejected') throw connected.reason;
    const rootMount = mounted.value;
    const { attached, etc } = connected.value;
    const spec0 = rec.Config.User ?? '';
    const groupAdd = hc.GroupAdd ?? [];
    const user = rootMount
      ? (numericUser(spec0, groupAdd) ?? resolveUserIn(await this.userFiles(rec), spec0, groupAdd))
      : await resolveUserInRootfs(rootfs, spec0, groupAdd);
    rec.runtime.user = user;
    const cwd = rec.Config.WorkingDir || '/';
    // runc makes a missing working directory itself (0755, root's) inside the container.
    if (cwd !== '/' && !rootMount)
      await fsp.mkdir(await resolveInRoot(rootfs, cwd), { recursive: true, mode: 0o755 });
    let netns: { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string } = {
      mode: 'new',
    };
    if (hc.NetworkMode === 'host') netns = { mode: 'host' };
    else if (joinedPath) netns = { mode: 'path', path: joinedPath };
    else if (attached) netns = { mode: 'path', path: attached.netnsPath };
    lap('user');

    const env = [...(rec.Config.Env ?? [])];
    if (!env.some((e) => e.startsWith('HOSTNAME='))) env.unshift(`HOSTNAME=${rec.Config.Hostname}`);
    // As dockerd: a process always gets a PATH, even from an image whose Env has none.
    if (!env.some((e) => e.startsWith('PATH='))) env.push(DEFAULT_PATH);
    if (rec.Config.Tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
    const mounts = await this.mounts.setup(rec, rootfs);
    lap('mounts');
    const spec = this.opts.buildSpec({
      id,
      rootfs,
      ...(rootMount ? { rootMount } : {}),
      rec,
      args: [rec.Path, ...rec.Args],
      env,
      cwd,
      user,
      netns,
      etcFiles: {
        hostname: rec.HostnamePath,
        hosts: rec.HostsPath,
        resolvConf: rec.ResolvConfPath,
      },
      mounts,
    });
    const json = JSON.stringify(spec);
    // runc bind-mounts the etc files: they are complete before it reads the spec.
    await etc;
    lap('specEtc');
    return { json, attached, hostRoot: !rootMount };
  }

  /**
   * Let a prepared task's process run, and make the start visible: ports published, the
   * record running (saved while runc's exec fifo is released).
   */
  private async launchTask(
    rec: ContainerRecord,
    task: PreparedTask,
    lap: (phase: string) => void,
  ): Promise<void> {
    const hc = rec.HostConfig;
    const { attached } = task;
    rec.NetworkSettings = attached
      ? {
          SandboxKey: attached.netnsPath,
          Networks: attached.networks,
          Ports: await this.opts.network.publishPorts(
            rec.Id,
            attached.primary,
            publishRequest(hc, rec.Config.ExposedPorts),
          ),
        }
      : { SandboxKey: '', Networks: {} };
    rec.runtime.conmonPid = task.conmonPid;
    rec.State = {
      ...rec.State,
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: task.pid,
      ExitCode: 0,
      Error: '',
      StartedAt: nowIso(),
    };
    rec.runtime.startedAtMs = Date.now();
    rec.runtime.stoppedByUser = false;
    // The running record is saved while `runc start` runs: a crash with the record saved and
    // the container still "created" is what reconcile already handles (it kills the created
    // container and records the exit), and a failed start is saved again by the caller,
    // after this write has settled.
    const [started, saved] = await Promise.allSettled([
      task.release ?? this.opts.runtime.start(rec.Id),
      this.store.save(rec, { durable: false }),
    ]);
    lap('startAndSave');
    if (started.status === 'rejected') throw started.reason;
    if (saved.status === 'rejected') throw saved.reason;
  }

  /**
   * Take down what prepareTask made (the runtime's task, network, volume mounts; the rootfs
   * too unless keepRootfs, which leaves a host mount for the next start); idempotent.
   */
  private async undoTask(rec: ContainerRecord, opts: { keepRootfs?: boolean } = {}): Promise<void> {
    await this.opts.runtime.discard(rec.Id).catch(() => undefined);
    await this.releaseNetwork(rec);
    await this.mounts.teardown(rec);
    if (opts.keepRootfs) {
      this.premounts.set(rec.Id, Promise.resolve(true));
      return;
    }
    // A start that failed before taking the mount made at create leaves it to be taken here.
    await this.takePremount(rec.Id);
    await this.opts.snapshots
      .unmount(path.join(this.bundleDir(rec.Id), 'rootfs'))
      .catch(() => undefined);
  }

  /**
   * The container's root as a mount for runc to make in its namespace, or undefined when it
   * is mounted on the host: a volume to be filled from the image's content at its mount point
   * needs that content readable from here before the container runs, and an image with too
   * many layers does not fit one mount's options with absolute paths.
   */
  private rootMountFor(rec: ContainerRecord, parent?: string): Promise<OciMount | undefined> {
    if ((rec.runtime.mounts ?? []).some((m) => m.copyData)) return Promise.resolve(undefined);
    return this.opts.snapshots.rootfsMount(rec.Id, parent);
  }

  /**
   * A container's /etc/passwd and /etc/group before its root is mounted (runc mounts it):
   * those of its image, read once per image from a view and kept, unless the container
   * changed them (in its upper directory), in which case they are read from a view of its
   * own. A view: a read-only overlay mounted beside the bundles, as for export.
   */
  private async userFiles(rec: ContainerRecord): Promise<UserFiles> {
    const upperEtc = path.join(this.opts.snapshots.upperDir(rec.Id), 'etc');
    const changed = await Promise.all(
      ['passwd', 'group'].map((f) =>
        fsp.lstat(path.join(upperEtc, f)).then(
          () => true,
          () => false,
        ),
      ),
    );
    const own = (): Promise<UserFiles> =>
      withView(
        rec,
        { snapshots: this.opts.snapshots, execDir: this.opts.execDir, log: this.log },
        userFilesIn,
      );
    if (changed.some(Boolean)) return own();
    let files = this.imageUserFiles.get(rec.Image);
    if (!files) {
      files = own();
      this.imageUserFiles.set(rec.Image, files);
      files.catch(() => this.imageUserFiles.delete(rec.Image));
      // Image IDs are content addresses: an entry never goes stale, the map is only bounded.
      if (this.imageUserFiles.size > IMAGE_USER_FILES_MAX) {
        const oldest = this.imageUserFiles.keys().next().value;
        if (oldest !== undefined) this.imageUserFiles.delete(oldest);
      }
    }
    return files;
  }

  // ---- early tasks --------------------------------------------------------------------------

  /**
   * Prepare a just-created container's task now, in the background, under its lock: the
   * start that `docker run` sends a few milliseconds later finds the task made (conmon and
   * `runc create`, ~35 ms here) or in the making, and only releases it. Only for containers
   * whose task depends on nothing but their own record (networks none, host, or the default
   * bridge alone); at most MAX_EARLY_TASKS at once. A task not started within EARLY_TASK_MS,
   * or made from a record that has changed since (network connect, rename…), is taken down
   * and the start prepares anew. Until the start, nothing of it shows through the API: no
   * state, no NetworkSettings, no published port, no event.
   */
  private prepareEarly(
    rec: ContainerRecord,
    root: Promise<{ rootMount?: OciMount }>,
    spare?: SpareTask,
  ): void {
    // A spare was taken for this container only if it could have an early task: it has one.
    if (!earlyEligible(rec) || (!spare && this.earlyTasks.size >= MAX_EARLY_TASKS)) return;
    const id = rec.Id;
    const entry: EarlyTask = { rec, inputs: taskInputs(rec), ready: Promise.resolve(false) };
    this.earlyTasks.set(id, entry);
    if (spare) spare.handed = true;
    entry.ready = this.mutex.run(id, async () => {
      if (this.earlyTasks.get(id) !== entry) {
        if (spare) await this.discardSpare(spare);
        return false;
      }
      try {
        const { phases, lap } = phaseTimer();
        entry.task = await this.prepareTask(rec, lap, {
          root,
          fresh: true,
          early: entry,
          ...(spare ? { spare } : {}),
        });
        this.log.debug({ container: id, phases }, 'early task timing');
        return true;
      } catch (err) {
        this.log.debug({ err, container: id }, 'early task not made');
        await this.undoTask(rec, { keepRootfs: false });
        // The runtime's refusal (no such executable, a bad spec) is the start's answer, unless
        // the record changes; anything else, the start tries again.
        if (err instanceof RuntimeStartError) entry.failure = { inputs: taskInputs(rec), err };
        else this.earlyTasks.delete(id);
        return false;
      } finally {
        if (this.earlyTasks.get(id) === entry) {
          entry.timer = setTimeout(() => void this.dropEarlyTask(id, entry), EARLY_TASK_MS);
          entry.timer.unref();
        }
      }
    });
  }

  // ---- spare tasks ---------------------------------------------------------------------------

  /** The spare task (see SpareTask), when the create described can take it. */
  private takeSpare(o: Parameters<typeof spareFits>[0]): SpareTask | undefined {
    const spare = this.spare;
    if (!spare || !spareFits(o) || this.earlyTasks.size >= MAX_EARLY_TASKS) return undefined;
    this.spare = undefined;
    clearTimeout(spare.timer);
    spare.taken = true;
    return spare;
  }

  /**
   * Begin the next spare SPARE_LULL_MS from now, put off again by any create or start before
   * then: in the lull after a start, not during one.
   */
  private scheduleSpare(): void {
    clearTimeout(this.spareTimer);
    if (this.spare || this.closingSpares) return;
    this.spareTimer = setTimeout(() => {
      this.spareTimer = undefined;
      this.refillSpare();
    }, SPARE_LULL_MS);
    this.spareTimer.unref();
  }

  /**
   * Start the next spare task, unless there is one or the daemon is closing: conmon and
   * `runc create` for a fresh ID, waiting for a spec (its log file's directory made first).
   */
  private refillSpare(): void {
    if (this.spare || this.closingSpares) return;
    const id = randomBytes(32).toString('hex');
    const dir = this.store.dir(id);
    const spare: SpareTask = {
      id,
      ...this.beginTask(
        {
          id,
          bundle: this.bundleDir(id),
          logPath: path.join(dir, 'container.log'),
          tty: false,
          openStdin: false,
          stdinOnce: false,
        },
        fsp.mkdir(dir, { recursive: true, mode: 0o710 }),
      ),
    };
    const drop = (): void => void this.dropSpare(spare);
    // A runtime that failed before any create took it (conmon gone, runc killed) is dropped.
    spare.created.catch(drop);
    spare.timer = setTimeout(drop, SPARE_TASK_MS);
    spare.timer.unref();
    this.spare = spare;
  }

  /** Drop the spare task if it is still the one waiting (unused for long, failed, shutdown). */
  private async dropSpare(spare: SpareTask): Promise<void> {
    if (this.spare !== spare) return;
    this.spare = undefined;
    clearTimeout(spare.timer);
    await this.discardSpare(spare);
  }

  /**
   * conmon and `runc create` for a task, begun now (once `ready` has settled) and waiting for
   * its spec, which the caller resolves when built, or rejects to abort them.
   */
  private beginTask(
    o: Omit<CreateTaskOptions, 'spec' | 'onSpec'>,
    ready: Promise<unknown> = Promise.resolve(),
  ): Pick<SpareTask, 'spec' | 'created'> {
    let spec!: SpareTask['spec'];
    const pending = new Promise<string>((resolve, reject) => (spec = { resolve, reject }));
    // The network's next spare namespace is made while runc works on this spec. Not sooner:
    // its `ip` processes' forks each stall the event loop ~2 ms, which would land on this
    // task's own making; not later, after the start, where they would land on the
    // container's first output (a burst of logs to rotate) and its exit.
    const onSpec = (): void => this.opts.network.spareTime();
    const created = ready.then(() => this.opts.runtime.create({ ...o, spec: pending, onSpec }));
    created.catch(() => undefined);
    return { spec, created };
  }

  /**
   * Take a spare task down: no spec (runc fails, conmon goes), then its bundle, and its log
   * directory unless a create took its ID (the directory is then that container's).
   */
  private async discardSpare(spare: SpareTask): Promise<void> {
    spare.spec.reject(new Error('spare task not used'));
    await spare.created.catch(() => undefined);
    await this.opts.runtime.discard(spare.id).catch(() => undefined);
    await Promise.all([
      fsp.rm(this.bundleDir(spare.id), { recursive: true, force: true }),
      this.opts.runtime.forget(spare.id),
      spare.taken ? undefined : fsp.rm(this.store.dir(spare.id), { recursive: true, force: true }),
    ]).catch((err: unknown) => this.log.warn({ err, container: spare.id }, 'spare task removal'));
  }

  /**
   * A start has come for a container whose early task is in the making: when the start will
   * certainly take that task (the record is as the task was begun from, the container could
   * start, and nothing else waits on it, so the start runs next) and no port is to be bound
   * (a taken port fails the start), let the task release the process as soon as runc has
   * created it (see startCreated), instead of after runc create and conmon have returned and
   * the start has had its turn. Called before the start queues.
   */
  private goEarly(rec: ContainerRecord): void {
    const entry = this.earlyTasks.get(rec.Id);
    if (!entry || entry.task || entry.failure || entry.go) return;
    const st = rec.State;
    if (st.Status === 'removing' || st.Paused || st.Running) return;
    if (this.mutex.pending(rec.Id) !== 1 || entry.inputs !== taskInputs(rec)) return;
    // Ports are bound at launch, after the release: one already taken must fail the start
    // before the process has run, as with dockerd.
    const pub = publishRequest(rec.HostConfig, rec.Config.ExposedPorts);
    if (pub.publishAll || Object.keys(pub.bindings ?? {}).length > 0) return;
    entry.go = true;
    entry.arm?.();
  }

  /** Forget the container's early task (its timer too), returning it to be used or undone. */
  private forgetEarlyTask(id: string): EarlyTask | undefined {
    const entry = this.earlyTasks.get(id);
    this.earlyTasks.delete(id);
    clearTimeout(entry?.timer);
    return entry;
  }

  /** The start's use of an early task (caller holds the lock): undefined to prepare anew. */
  private async takeEarlyTask(rec: ContainerRecord): Promise<PreparedTask | undefined> {
    const entry = this.forgetEarlyTask(rec.Id);
    if (!entry) return undefined;
    if (entry.failure?.inputs === taskInputs(rec)) throw entry.failure.err;
    if (!entry.task) return undefined;
    if (entry.task.inputs === taskInputs(rec)) return entry.task;
    await this.undoTask(rec, { keepRootfs: entry.task.hostRoot });
    return undefined;
  }

  /** Take down an early task nobody started (timer, removal, shutdown). */
  private async dropEarlyTask(id: string, entry?: EarlyTask): Promise<void> {
    await this.mutex.run(id, async () => {
      const current = this.earlyTasks.get(id);
      if (!current || (entry && current !== entry)) return;
      this.forgetEarlyTask(id);
      if (current.task) await this.undoTask(current.rec, { keepRootfs: current.task.hostRoot });
    });
  }

  private async releaseNetwork(rec: ContainerRecord): Promise<void> {
    const mode = rec.HostConfig.NetworkMode ?? 'bridge';
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return;
    await this.opts.network
      .detach(rec.Id)
      .catch((err) => this.log.warn({ err }, 'network release'));
    // As dockerd: a stopped container keeps its networks, without their operational data.
    for (const ep of Object.values(rec.NetworkSettings.Networks)) {
      Object.assign(ep, {
        EndpointID: '',
        Gateway: '',
        IPAddress: '',
        IPPrefixLen: 0,
        MacAddress: '',
      });
    }
    rec.NetworkSettings.SandboxKey = '';
    delete rec.NetworkSettings.Ports;
  }

  /**
   * Change a running or stopped container's networks (network connect/disconnect) under its
   * lock; the record is saved after `fn`.
   */
  async changeNetworks(ref: string, fn: (rec: ContainerRecord) => Promise<void>): Promise<void> {
    const rec = this.store.get(ref);
    await this.mutex.run(rec.Id, async () => {
      if (rec.State.Status === 'removing')
        throw conflict(`container ${rec.Id} is marked for removal`);
      await fn(rec);
      await this.store.save(rec);
    });
  }

  // ---- exit ---------------------------------------------------------------------------------

  /** Called when the runtime reports (or reconcile finds) that a container's process ended. */
  async handleExit(id: string): Promise<void> {
    const rec = this.store.find(id);
    // An exit file with no record: a removed container's task, killed by its removal after
    // the record left (a created one's runc init, whose conmon writes one too).
    if (!rec) return this.opts.runtime.clearExit(id);
    await this.mutex.run(id, async () => {
      if (!rec.State.Running) {
        await this.opts.runtime.clearExit(id);
        return;
      }
      const noticedAt = Date.now();
      const t0 = performance.now();
      const code =
        (await this.opts.runtime.exitCode(id)) ?? ((await this.runtimeGone(id)) ? 255 : undefined);
      if (code === undefined) return;
      const [exitTime, oom] = await Promise.all([
        this.opts.runtime.exitFileTime(id),
        this.opts.runtime.oomKilled(id),
      ]);
      // The exit file's mtime can precede StartedAt (taken after `runc start` returned) for a
      // process that ends at once; Docker never reports finishing before starting.
      const startedMs = Date.parse(rec.State.StartedAt);
      const exitMs = (exitTime ?? new Date()).getTime();
      const finished = new Date(Number.isNaN(startedMs) ? exitMs : Math.max(exitMs, startedMs));
      const t1 = performance.now();
      // An auto-removed container's resources are released by its removal, after the waiters
      // have their answer (see removeLocked); anyone else's before, so that a stop that has
      // returned has freed the mount, the network and the cgroups.
      const autoRemove = rec.HostConfig.AutoRemove === true;
      if (!autoRemove) await this.cleanupTask(rec);
      const t2 = performance.now();
      rec.State = {
        ...rec.State,
        Status: 'exited',
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: oom,
        Pid: 0,
        ExitCode: code,
        FinishedAt: finished.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z'),
      };
      // An auto-removed container's exited record would be deleted at once: it is not saved.
      // Until removeLocked saves it as "removing", the record on disk says running and the
      // exit file stays, so a crash in between has reconcile redo this exit, with the same
      // code, and the removal.
      if (!autoRemove) {
        await this.store.save(rec, { durable: false });
        await this.opts.runtime.clearExit(id);
      }
      const t3 = performance.now();
      if (oom) this.emit(rec, 'oom');
      this.emit(rec, 'die', { exitCode: String(code) });
      this.waiters.exited(id, code);
      fire(this.exitListeners, id);
      if (autoRemove) {
        try {
          await this.removeLocked(rec, { exited: true });
        } catch (err) {
          // Left in place: record what happened to it, as a container that is not auto-removed.
          await this.cleanupTask(rec);
          await this.store.save(rec).catch(() => undefined);
          throw err;
        } finally {
          await this.opts.runtime.clearExit(id);
        }
      }
      const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
      this.log.debug(
        {
          container: id,
          noticedAfterMs: exitTime ? noticedAt - exitTime.getTime() : undefined,
          phases: {
            read: ms(t0, t1),
            cleanup: ms(t1, t2),
            save: ms(t2, t3),
            remove: ms(t3, performance.now()),
          },
        },
        'exit timing',
      );
    });
  }

  private async runtimeGone(id: string): Promise<boolean> {
    const st = await this.opts.runtime.state(id).catch(() => undefined);
    return st === undefined || st.status === 'stopped';
  }

  /**
   * Reconcile, before the records: a task or a bundle whose container has no record was left
   * by a daemon killed while creating one (the rootfs is mounted and the early task made
   * beside the record's first save) or while releasing a removed one. Kill, unmount, delete.
   */
  async reapOrphans(): Promise<string[]> {
    const known = (id: string): boolean => this.store.find(id) !== undefined;
    const reaped = new Set<string>();
    for (const id of await this.opts.runtime.taskIds()) {
      if (known(id)) continue;
      // discard deletes with --force: runc kills what still runs.
      await this.opts.runtime.discard(id).catch((err: unknown) => {
        this.log.warn({ err, container: id }, 'deleting an orphaned task');
      });
      reaped.add(id);
    }
    const bundles = await fsp.readdir(this.opts.execDir).catch(() => [] as string[]);
    for (const id of bundles) {
      if (!/^[0-9a-f]{64}$/.test(id) || known(id)) continue;
      await this.opts.snapshots
        .unmount(path.join(this.bundleDir(id), 'rootfs'))
        .catch(() => undefined);
      await fsp.rm(this.bundleDir(id), { recursive: true, force: true });
      await this.opts.runtime.forget(id);
      reaped.add(id);
    }
    return [...reaped];
  }

  /**
   * Reconcile: a container recorded as not running that the runtime still knows was left by
   * a daemon killed between `runc create` and saving the record. Kill and clean it so the
   * next start does not fail with "already exists".
   */
  async reapLeftoverTask(id: string): Promise<boolean> {
    const rec = this.store.find(id);
    if (!rec || rec.State.Running || !(await this.opts.runtime.hasTask(id))) return false;
    await this.mutex.run(id, async () => {
      // discard deletes with --force: runc kills what still runs.
      await this.opts.runtime.discard(id).catch(() => undefined);
      await this.cleanupTask(rec);
    });
    return true;
  }

  private async cleanupTask(rec: ContainerRecord): Promise<void> {
    // A mount begun at create finishes before the unmount below looks for it.
    await this.takePremount(rec.Id);
    // Independent of one another (the process is gone): runc's state and cgroups, the network
    // namespace and veth, the rootfs mount. Each is idempotent, so a crash half-way is redone.
    const timed = async (p: Promise<unknown>): Promise<number> => {
      const t = performance.now();
      await p;
      return Math.round((performance.now() - t) * 10) / 10;
    };
    const [runcDelete, network, umount, volumes] = await Promise.all([
      timed(
        this.opts.runtime
          .delete(rec.Id)
          .catch((err) => this.log.warn({ err, container: rec.Id }, 'runc delete')),
      ),
      timed(this.releaseNetwork(rec)),
      timed(
        this.opts.snapshots
          .unmount(path.join(this.bundleDir(rec.Id), 'rootfs'))
          .catch((err) => this.log.warn({ err, container: rec.Id }, 'unmount rootfs')),
      ),
      timed(this.mounts.teardown(rec)),
    ]);
    this.log.debug(
      { container: rec.Id, phases: { runcDelete, network, umount, volumes } },
      'cleanup timing',
    );
  }

  /** Resolves when the container's current run has ended (immediately if not running). */
  onNextExit(id: string): Promise<void> {
    const rec = this.store.find(id);
    if (!rec || !rec.State.Running) return Promise.resolve();
    return listen(this.exitListeners, id);
  }

  /** Resolves at the next exit, whether or not the container is running now. */
  nextExit(id: string): { promise: Promise<void>; cancel: () => void } {
    return listenCancellable(this.exitListeners, id);
  }

  /** Resolves at the next start (immediately if running). */
  nextStart(id: string): { promise: Promise<void>; cancel: () => void } {
    if (this.store.find(id)?.State.Running)
      return { promise: Promise.resolve(), cancel: () => undefined };
    return listenCancellable(this.startListeners, id);
  }

  // ---- stop, kill, restart, pause -----------------------------------------------------------

  async stop(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (!rec.State.Running) throw notModified();
    const sig = parseSignal(opts.signal || rec.Config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? rec.Config.StopTimeout ?? 10;
    rec.runtime.stoppedByUser = true;
    const exited = this.onNextExit(rec.Id);
    await this.opts.runtime
      .kill(rec.Id, sig)
      .catch((err) => this.log.debug({ err }, 'stop signal'));
    if (rec.State.Paused) await this.opts.runtime.resume(rec.Id).catch(() => undefined);
    if (timeout >= 0) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeout * 1000))),
      ]);
      clearTimeout(timer);
      if (!timedOut) return;
      await this.opts.runtime.kill(rec.Id, 'SIGKILL', true).catch(() => undefined);
    }
    await exited;
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const rec = this.store.get(ref);
    const sig = parseSignal(signal);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    await this.opts.runtime.kill(rec.Id, sig, sig === 'SIGKILL');
    this.emit(rec, 'kill', { signal: String(signalNumber(sig)) });
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Running) await this.stop(rec.Id, opts);
    await this.start(rec.Id);
    this.emit(rec, 'restart');
  }

  async pause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.mutex.run(rec.Id, async () => {
      if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
      if (rec.State.Paused) throw conflict(`Container ${rec.Id} is already paused`);
      await this.opts.runtime.pause(rec.Id);
      rec.State.Paused = true;
      rec.State.Status = 'paused';
      await this.store.save(rec);
      this.emit(rec, 'pause');
    });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.mutex.run(rec.Id, async () => {
      if (!rec.State.Paused) throw conflict(`Container ${rec.Id} is not paused`);
      await this.opts.runtime.resume(rec.Id);
      rec.State.Paused = false;
      rec.State.Status = 'running';
      await this.store.save(rec);
      this.emit(rec, 'unpause');
    });
  }

  // ---- wait, remove, rename -----------------------------------------------------------------

  /** Register a wait synchronously (so the API can flush headers before it resolves). */
  wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<number> {
    const rec = this.store.get(ref);
    if (condition === 'not-running' && !rec.State.Running)
      return Promise.resolve(rec.State.ExitCode);
    return this.waiters.add(rec.Id, condition, signal);
  }

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Running) {
      if (!opts.force) {
        const what = rec.State.Paused ? 'paused' : 'running';
        throw conflict(
          `You cannot remove a ${what} container ${rec.Id}. Stop the container before attempting removal or force remove`,
        );
      }
      const exited = this.onNextExit(rec.Id);
      if (rec.State.Paused) await this.opts.runtime.resume(rec.Id).catch(() => undefined);
      await this.opts.runtime.kill(rec.Id, 'SIGKILL', true).catch(() => undefined);
      await exited;
    }
    await this.mutex.run(rec.Id, async () => {
      if (!this.store.find(rec.Id)) return; // auto-removed meanwhile
      await this.removeLocked(rec, { removeVolumes: opts.volumes });
    });
  }

  /**
   * Remove a container in two steps. First, under the caller's lock, the record is saved as
   * "removing" and the container leaves the API (name freed, `destroy` emitted, removal
   * waiters answered): that is all a client waits for. Then, still under the container's lock
   * but after the answer, its resources go: the runtime task, network, rootfs mount, snapshot,
   * bundle and finally the record. A crash before the record is deleted leaves a "removing"
   * record that reconcile removes again (every step is idempotent). Image removal and daemon
   * shutdown wait for these (`settled`), so an image never loses layers a mount still uses.
   * Volumes are released before the answer, so that `rm c && volume rm v` works; with
   * `removeVolumes` (rm -v, and always for --rm) its anonymous volumes go too. A crash after
   * that leaves at worst an unused anonymous volume.
   */
  private async removeLocked(
    rec: ContainerRecord,
    opts: { removeVolumes?: boolean; exited?: boolean } = {},
  ): Promise<void> {
    // An early task is taken down with the rest (cleanupTask, below).
    this.forgetEarlyTask(rec.Id);
    rec.State.Status = 'removing';
    // An auto-removed container that has just exited is saved as "removing" after the answer:
    // until handleExit clears its exit file, a crash has reconcile redo the exit and the
    // removal anyway (its record on disk still says running).
    if (!opts.exited) await this.store.save(rec, { durable: false });
    this.store.forget(rec);
    await this.mounts.release(
      rec.Id,
      rec.runtime.mounts ?? [],
      opts.removeVolumes ?? rec.HostConfig.AutoRemove === true,
    );
    this.emit(rec, 'destroy');
    this.waiters.removed(rec.Id, rec.State.ExitCode);
    if (opts.exited) await this.store.save(rec, { durable: false, index: false });
    const release = this.mutex
      .run(rec.Id, () => this.releaseRemoved(rec))
      .catch((err: unknown) =>
        this.log.error({ err, container: rec.Id }, 'releasing a removed container failed'),
      )
      .finally(() => this.releasing.delete(release));
    this.releasing.add(release);
  }

  private async releaseRemoved(rec: ContainerRecord): Promise<void> {
    const t0 = performance.now();
    await this.cleanupTask(rec);
    const t1 = performance.now();
    // The snapshot and the bundle before the record (see removeLocked).
    await Promise.all([
      this.opts.snapshots.remove(rec.Id).catch((err: unknown) => {
        if ((err as { kind?: string }).kind !== 'not-found') throw err;
      }),
      fsp.rm(this.bundleDir(rec.Id), { recursive: true, force: true }),
      this.opts.runtime.forget(rec.Id),
    ]);
    const t2 = performance.now();
    await this.store.delete(rec);
    const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
    this.log.debug(
      {
        container: rec.Id,
        phases: { task: ms(t0, t1), files: ms(t1, t2), record: ms(t2, performance.now()) },
      },
      'remove timing',
    );
  }

  /** Resolves once every removed container's resources are released. */
  async settled(): Promise<void> {
    while (this.releasing.size > 0) await Promise.all([...this.releasing]);
  }

  /**
   * Shutdown: take down the rootfs mounts begun at create for containers never started (as
   * dockerd, a stopped daemon leaves no created container mounted; the next start mounts).
   */
  async releasePremounts(): Promise<void> {
    this.closingSpares = true;
    clearTimeout(this.spareTimer);
    if (this.spare) await this.dropSpare(this.spare);
    // Early tasks first: taking one down leaves its rootfs mounted, released below.
    for (const id of [...this.earlyTasks.keys()]) await this.dropEarlyTask(id);
    for (const id of [...this.premounts.keys()]) {
      await this.mutex.run(id, async () => {
        // A start takes its entry under this lock: one still here was never started.
        if (!(await this.takePremount(id))) return;
        await this.releaseIdleMount(id).catch((err: unknown) =>
          this.log.warn({ err, container: id }, 'unmounting a created container at shutdown'),
        );
      });
    }
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.store.get(ref);
    const name = newName.replace(/^\//, '');
    if (!name) throw invalidArgument('Neither old nor new names may be empty');
    if (!validName(name))
      throw invalidArgument(
        `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    const old = rec.Name.slice(1);
    if (old === name)
      throw invalidArgument('Renaming a container with the same name as its current name');
    await this.mutex.run(rec.Id, async () => {
      this.store.reserveName(name, rec.Id);
      rec.Name = `/${name}`;
      try {
        await this.store.save(rec);
      } catch (err) {
        this.store.releaseName(name, rec.Id);
        rec.Name = `/${old}`;
        throw err;
      }
      this.store.releaseName(old, rec.Id);
      this.emit(rec, 'rename', { oldName: `/${old}` });
    });
  }

  // ---- events -------------------------------------------------------------------------------

  emit(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.opts.events.publish('container', action, {
      ID: rec.Id,
      Attributes: {
        ...(rec.Config.Labels ?? {}),
        image: rec.Config.Image ?? '',
        name: rec.Name.slice(1),
        ...extra,
      },
    });
  }

  hostConfigOf(ref: string): HostConfig {
    return this.store.get(ref).HostConfig;
  }
}

function fire(map: Map<string, Set<() => void>>, id: string): void {
  for (const fn of [...(map.get(id) ?? [])]) fn();
}

function listen(map: Map<string, Set<() => void>>, id: string): Promise<void> {
  return listenCancellable(map, id).promise;
}

function listenCancellable(
  map: Map<string, Set<() => void>>,
  id: string,
): { promise: Promise<void>; cancel: () => void } {
  let set = map.get(id);
  if (!set) map.set(id, (set = new Set()));
  const s = set;
  let fn!: () => void;
  const promise = new Promise<void>((resolve) => {
    fn = (): void => {
      s.delete(fn);
      if (s.size === 0 && map.get(id) === s) map.delete(id);
      resolve();
    };
  });
  s.add(fn);
  return {
    promise,
    cancel: () => {
      s.delete(fn);
      if (s.size === 0 && map.get(id) === s) map.delete(id);
    },
  };
}

/**
 * A container's hosts, resolv.conf and hostname, for its network namespace (`attached`, none
 * for --network none or host). They are regenerated on every start, and nothing reads them
 * after a crash before the next start rewrites them: no fsync (2 per file, ~5 ms here).
 */
async function writeEtcFiles(
  rec: ContainerRecord,
  attached: AttachedNetworks | undefined,
  hostResolv: string,
): Promise<void> {
  const hc = rec.HostConfig;
  const hostsText =
    hc.NetworkMode === 'host'
      ? await fsp.readFile('/etc/hosts', 'utf8').catch(() => hostsFile(rec.Config.Hostname!))
      : hostsFile(
          rec.Config.Hostname!,
          // As dockerd: a line per network the container is on.
          Object.values(attached?.networks ?? {}).flatMap((n) => [
            n.IPAddress,
            n.GlobalIPv6Address,
          ]),
          withHostGateway(hc.ExtraHosts ?? [], attached?.gateway),
        );
  // On a user-defined network the embedded DNS is the nameserver, and --dns servers are
  // where it forwards (as Docker's 127.0.0.11).
  const resolvText = resolvConf(hostResolv, {
    dns: attached?.dnsServer ? [attached.dnsServer] : (hc.Dns ?? undefined),
    search: hc.DnsSearch ?? undefined,
    options: hc.DnsOptions ?? undefined,
    keepLoopback: hc.NetworkMode === 'host',
  });
  const write = (file: string, data: string): Promise<void> =>
    writeFileAtomic(file, data, 0o644, { durable: false });
  await Promise.all([
    write(rec.HostsPath, hostsText),
    write(rec.ResolvConfPath, resolvText),
    write(rec.HostnamePath, `${rec.Config.Hostname}\n`),
  ]);
}

/** Per-phase timings (ms), logged at debug level: where an operation's time goes. */
function phaseTimer(): { phases: Record<string, number>; lap: (phase: string) => void } {
  const phases: Record<string, number> = {};
  let lapAt = performance.now();
  return {
    phases,
    lap: (phase) => {
      const now = performance.now();
      phases[phase] = Math.round((now - lapAt) * 10) / 10;
      lapAt = now;
    },
  };
}

/** Images whose user files userFiles() keeps at once. */
const IMAGE_USER_FILES_MAX = 64;

/** A start that failed before anything ran (exit file, rootfs mount): no error is recorded. */
class UnrecordedStartFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(errorMessage(cause));
  }
}

/** -p / -P of a container, for the network module (host and none publish nothing). */
function publishRequest(
  hc: HostConfig,
  exposed: Record<string, unknown> | null | undefined,
): PublishPorts {
  const mode = hc.NetworkMode ?? 'bridge';
  const own = mode !== 'host' && mode !== 'none' && !mode.startsWith('container:');
  return {
    bindings: own ? hc.PortBindings : undefined,
    publishAll: own && (hc.PublishAllPorts ?? false),
    exposed,
  };
}
