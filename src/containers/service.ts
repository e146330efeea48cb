import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { ContainerCreateRequest, HostConfig } from '../api-types/index.js';
import {
  conflict,
  errorMessage,
  invalidArgument,
  KeyedMutex,
  notModified,
  WharfError,
  writeJsonAtomic,
  type Logger,
} from '../common/index.js';
import { emptyState, type ContainerRecord } from './record.js';
import { hostsFile, readHostResolvConf, resolvConf, writeEtcFile } from './etc-files.js';
import { mergeConfig, normalizeHostConfig, processArgs, validateCreateRequest } from './merge.js';
import { randomName, validName } from './names.js';
import type { EventsPort, ImagesPort, NetworkPort, RuntimePort, SnapshotsPort } from './ports.js';
import { parseSignal, signalNumber } from './signals.js';
import { ContainerStore } from './store.js';
import { resolveUserInRootfs } from './user.js';
import { resolveInRoot } from './confine.js';
import { Waiters, type WaitCondition } from './waiters.js';

/** Builds the OCI runtime spec (runtime/spec) — injected so this layer stays testable. */
export type SpecBuilder = (input: {
  id: string;
  rootfs: string;
  rec: ContainerRecord;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  netns: { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
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
  /** Validates the log driver and its options (throws invalidArgument). */
  validateLogConfig: (type: string, opts: Record<string, string>) => void;
  log: Logger;
}

export const nowIso = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');

/** The exit code Docker reports when a container's command cannot be run. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory|not found in \$PATH/i.test(message))
    return 127;
  if (/permission denied/i.test(message)) return 126;
  return 128;
}

/**
 * Container lifecycle: create → start → (pause ⇄ unpause) → exit → start again or remove.
 * One operation per container at a time (KeyedMutex); an exit noticed from the runtime's exit
 * file is processed under the same lock. Records are saved after every transition.
 */
export class ContainerService {
  readonly store: ContainerStore;
  readonly waiters = new Waiters();
  private readonly mutex = new KeyedMutex();
  private readonly opts: ContainerServiceOptions;
  private readonly log: Logger;
  /** Listeners told when a container's run ends (attach streams end on it). */
  private readonly exitListeners = new Map<string, Set<() => void>>();
  /** Listeners told when a container has started (stdin attached before start waits on it). */
  private readonly startListeners = new Map<string, Set<() => void>>();

  constructor(opts: ContainerServiceOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.store = new ContainerStore(opts.dataDir, opts.log);
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
    this.opts.validateLogConfig(hostConfig.LogConfig!.Type, hostConfig.LogConfig!.Config ?? {});
    const image = await this.opts.images.resolve(req.Image);
    const id = randomBytes(32).toString('hex');
    const hostname =
      hostConfig.NetworkMode === 'host' && !req.Hostname ? await hostHostname() : id.slice(0, 12);
    const config = mergeConfig(req, image.config, hostname);
    const args = processArgs(config);
    const cname = name
      ? name.replace(/^\//, '')
      : randomName((n) => this.store.nameTaken(n) !== undefined);
    this.store.reserveName(cname, id);
    try {
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
        },
      };
      await fsp.mkdir(dir, { recursive: true, mode: 0o710 });
      await this.opts.snapshots.prepare(id, image.topChainID);
      await writeEtcFile(rec.HostnamePath, `${config.Hostname}\n`);
      await this.store.save(rec);
      this.emit(rec, 'create');
      return { Id: id, Warnings: [] };
    } catch (err) {
      this.store.releaseName(cname, id);
      await this.opts.snapshots.remove(id).catch(() => undefined);
      await fsp.rm(this.store.dir(id), { recursive: true, force: true });
      throw err;
    }
  }

  // ---- start --------------------------------------------------------------------------------

  async start(ref: string): Promise<void> {
    const rec = this.store.get(ref);
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
    const bundle = this.bundleDir(id);
    const rootfs = path.join(bundle, 'rootfs');
    const hc = rec.HostConfig;
    // Per-phase timings (ms), logged at debug level: where a start's time goes.
    const phases: Record<string, number> = {};
    let lapAt = performance.now();
    const lap = (phase: string): void => {
      const now = performance.now();
      phases[phase] = Math.round((now - lapAt) * 10) / 10;
      lapAt = now;
    };
    await fsp.mkdir(rootfs, { recursive: true, mode: 0o700 });
    await this.opts.runtime.clearExit(id);
    lap('prep');
    await this.opts.snapshots.mount(id, rootfs);
    lap('mount');
    let netnsPath: string | undefined;
    try {
      const user = await resolveUserInRootfs(rootfs, rec.Config.User ?? '', hc.GroupAdd ?? []);
      rec.runtime.user = user;
      const cwd = rec.Config.WorkingDir || '/';
      if (cwd !== '/')
        await fsp.mkdir(await resolveInRoot(rootfs, cwd), { recursive: true, mode: 0o755 });

      let netns: { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string } = {
        mode: 'new',
      };
      let ip: string | undefined;
      rec.NetworkSettings = { SandboxKey: '', Networks: {} };
      if (hc.NetworkMode === 'host') netns = { mode: 'host' };
      else if (hc.NetworkMode === 'bridge') {
        netnsPath = await this.opts.network.createNetns(id);
        const ep = await this.opts.network.connect(id, netnsPath);
        netns = { mode: 'path', path: netnsPath };
        ip = ep.ipAddress;
        lap('network');
        rec.NetworkSettings = {
          SandboxKey: netnsPath,
          Networks: {
            bridge: {
              IPAMConfig: null,
              Links: null,
              Aliases: null,
              MacAddress: ep.macAddress,
              NetworkID: this.opts.network.bridge.id,
              EndpointID: ep.endpointId,
              Gateway: ep.gateway,
              IPAddress: ep.ipAddress,
              IPPrefixLen: ep.prefixLen,
              IPv6Gateway: '',
              GlobalIPv6Address: '',
              GlobalIPv6PrefixLen: 0,
              DriverOpts: null,
              DNSNames: null,
            },
          },
        };
      }
      const hostResolv = await readHostResolvConf();
      if (hc.NetworkMode === 'host') {
        await fsp
          .copyFile('/etc/hosts', rec.HostsPath)
          .catch(() => writeEtcFile(rec.HostsPath, hostsFile(rec.Config.Hostname!)));
      } else {
        await writeEtcFile(rec.HostsPath, hostsFile(rec.Config.Hostname!, ip, hc.ExtraHosts ?? []));
      }
      await writeEtcFile(
        rec.ResolvConfPath,
        resolvConf(hostResolv, {
          dns: hc.Dns ?? undefined,
          search: hc.DnsSearch ?? undefined,
          options: hc.DnsOptions ?? undefined,
          keepLoopback: hc.NetworkMode === 'host',
        }),
      );
      await writeEtcFile(rec.HostnamePath, `${rec.Config.Hostname}\n`);
      lap('etc');

      const env = [...(rec.Config.Env ?? [])];
      if (!env.some((e) => e.startsWith('HOSTNAME=')))
        env.unshift(`HOSTNAME=${rec.Config.Hostname}`);
      if (rec.Config.Tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
      const spec = this.opts.buildSpec({
        id,
        rootfs,
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
      });
      await writeJsonAtomic(path.join(bundle, 'config.json'), spec);
      lap('spec');
      const { pid, conmonPid } = await this.opts.runtime.create({
        id,
        bundle,
        // --log-driver none: attach still shows output, from a small file conmon truncates.
        logPath: rec.LogPath || path.join(bundle, 'discard.log'),
        ...(rec.LogPath ? {} : { logSizeMax: 1024 * 1024 }),
        tty: rec.Config.Tty ?? false,
        openStdin: rec.Config.OpenStdin ?? false,
      });
      rec.runtime.conmonPid = conmonPid;
      lap('create');
      await this.opts.runtime.start(id);
      lap('runcStart');
      rec.State = {
        ...rec.State,
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: pid,
        ExitCode: 0,
        Error: '',
        StartedAt: nowIso(),
      };
      rec.runtime.startedAtMs = Date.now();
      rec.runtime.stoppedByUser = false;
    } catch (err) {
      const message = errorMessage(err);
      this.log.debug({ err, container: id }, 'start failed');
      await this.opts.runtime.delete(id).catch(() => undefined);
      await this.releaseNetwork(rec);
      await this.opts.snapshots.unmount(rootfs).catch(() => undefined);
      rec.State.Error = message;
      rec.State.ExitCode = startFailureCode(message);
      await this.store.save(rec);
      if (err instanceof WharfError && err.kind !== 'internal') throw err;
      throw new WharfError(
        'invalid-argument',
        'ERR_START',
        `failed to create task for container: ${message}`,
        {
          cause: err,
        },
      );
    }
    await this.store.save(rec);
    lap('save');
    this.emit(rec, 'start');
    fire(this.startListeners, rec.Id);
    this.log.debug({ container: id, phases }, 'start timing');
  }

  private async releaseNetwork(rec: ContainerRecord): Promise<void> {
    if (rec.HostConfig.NetworkMode !== 'bridge') return;
    await this.opts.network
      .disconnect(rec.Id)
      .catch((err) => this.log.warn({ err }, 'network disconnect'));
    await this.opts.network
      .removeNetns(rec.Id)
      .catch((err) => this.log.warn({ err }, 'netns removal'));
  }

  // ---- exit ---------------------------------------------------------------------------------

  /** Called when the runtime reports (or reconcile finds) that a container's process ended. */
  async handleExit(id: string): Promise<void> {
    const rec = this.store.find(id);
    if (!rec) return;
    await this.mutex.run(id, async () => {
      if (!rec.State.Running) {
        await this.opts.runtime.clearExit(id);
        return;
      }
      const code =
        (await this.opts.runtime.exitCode(id)) ?? ((await this.runtimeGone(id)) ? 255 : undefined);
      if (code === undefined) return;
      const t0 = performance.now();
      const finished = (await this.opts.runtime.exitFileTime(id)) ?? new Date();
      const oom = await this.opts.runtime.oomKilled(id);
      const t1 = performance.now();
      await this.cleanupTask(rec);
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
      await this.store.save(rec);
      await this.opts.runtime.clearExit(id);
      const t3 = performance.now();
      if (oom) this.emit(rec, 'oom');
      this.emit(rec, 'die', { exitCode: String(code) });
      this.waiters.exited(id, code);
      fire(this.exitListeners, id);
      if (rec.HostConfig.AutoRemove) await this.removeLocked(rec);
      const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
      this.log.debug(
        {
          container: id,
          noticedAfterMs: finished ? Date.now() - finished.getTime() - ms(t0, performance.now()) : undefined,
          phases: { read: ms(t0, t1), cleanup: ms(t1, t2), save: ms(t2, t3), remove: ms(t3, performance.now()) },
        },
        'exit timing',
      );
    });
  }

  private async runtimeGone(id: string): Promise<boolean> {
    const st = await this.opts.runtime.state(id).catch(() => undefined);
    return st === undefined || st.status === 'stopped';
  }

  private async cleanupTask(rec: ContainerRecord): Promise<void> {
    const t0 = performance.now();
    await this.opts.runtime
      .delete(rec.Id)
      .catch((err) => this.log.warn({ err, container: rec.Id }, 'runc delete'));
    const t1 = performance.now();
    await this.releaseNetwork(rec);
    const t2 = performance.now();
    await this.opts.snapshots
      .unmount(path.join(this.bundleDir(rec.Id), 'rootfs'))
      .catch((err) => this.log.warn({ err, container: rec.Id }, 'unmount rootfs'));
    const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
    this.log.debug(
      {
        container: rec.Id,
        phases: { runcDelete: ms(t0, t1), network: ms(t1, t2), umount: ms(t2, performance.now()) },
      },
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
      await this.removeLocked(rec);
    });
  }

  private async removeLocked(rec: ContainerRecord): Promise<void> {
    const t0 = performance.now();
    rec.State.Status = 'removing';
    await this.opts.runtime.delete(rec.Id).catch(() => undefined);
    await this.opts.snapshots
      .unmount(path.join(this.bundleDir(rec.Id), 'rootfs'))
      .catch(() => undefined);
    await this.releaseNetwork(rec);
    const t1 = performance.now();
    await this.opts.snapshots.remove(rec.Id);
    const t2 = performance.now();
    await fsp.rm(this.bundleDir(rec.Id), { recursive: true, force: true });
    const t3 = performance.now();
    await this.store.delete(rec);
    const t4 = performance.now();
    this.emit(rec, 'destroy');
    this.waiters.removed(rec.Id, rec.State.ExitCode);
    const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
    this.log.debug(
      {
        container: rec.Id,
        phases: {
          task: ms(t0, t1),
          snapshot: ms(t1, t2),
          bundle: ms(t2, t3),
          record: ms(t3, t4),
        },
      },
      'remove timing',
    );
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

async function hostHostname(): Promise<string> {
  const { hostname } = await import('node:os');
  return hostname();
}
