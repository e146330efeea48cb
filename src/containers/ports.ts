/**
 * What the container service needs from the layers below it. The daemon wires these to the
 * real image store, snapshotter, runtime and network manager; keeping them narrow lets the
 * service be the one place where lifecycle logic lives (and a CRI front-end reuse it later).
 */
import type { Readable } from 'node:stream';

import type {
  EndpointConfigRequest,
  EndpointSettings,
  ImageRuntimeConfig,
} from '../api-types/index.js';
import type { OciMount } from '../oci/index.js';

export interface ResolvedImage {
  id: string;
  config: ImageRuntimeConfig;
  /** Chain ID of the image's top layer ('' for an image without layers). */
  topChainID: string;
  /** Bytes of the image's layers (Docker's image Size). */
  size: number;
}

export interface ImagesPort {
  resolve(ref: string): Promise<ResolvedImage>;
}

export interface SnapshotsPort {
  /** Create the container's writable layer over the image's layers. */
  prepare(id: string, parentChainID: string): Promise<void>;
  mount(id: string, target: string): Promise<void>;
  /** A read-only view of the container's filesystem (image layers + its changes). */
  mountView(id: string, target: string): Promise<void>;
  /**
   * The container's root as a mount for the runtime to make in the container's namespace;
   * undefined when it must be mounted on the host (mount) instead.
   */
  rootfsMount(id: string, parentChainID?: string): Promise<OciMount | undefined>;
  unmount(target: string): Promise<void>;
  /** Whether an overlay is mounted at target. */
  isMounted(target: string): Promise<boolean>;
  remove(id: string): Promise<void>;
  /** The container's upper dir, and the image's layer dirs (top first), for `diff`. */
  upperDir(id: string): string;
  lowerDirs(parentChainID: string): Promise<string[]>;
  /** Bytes in the container's writable layer. */
  sizeRw(id: string): Promise<number>;
}

/** A user-defined network a container is on, and what it asked of its endpoint. */
export interface PlannedNetwork {
  name: string;
  config: EndpointConfigRequest;
}

/** A container's namespace and its interfaces, as the network module made them at start. */
export interface AttachedNetworks {
  netnsPath: string;
  /** The network its ports are published on ('' for none). */
  primary: string;
  networks: Record<string, EndpointSettings>;
  /** The first network's address and gateway. */
  ip: string;
  gateway: string;
  /** The embedded DNS's address (user-defined networks only). */
  dnsServer?: string;
}

/** NetworkSettings.Ports: exposed ports and the host ports published for them. */
export type PortsView = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

/** -p / -P as the container asks: published at start on its first network's address. */
export interface PublishPorts {
  bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined;
  publishAll: boolean;
  exposed: Record<string, unknown> | null | undefined;
}

export interface NetworkPort {
  /** Check a new container's NetworkMode and EndpointsConfig; its user-defined networks. */
  planNetworks(
    mode: string,
    endpoints: Record<string, unknown> | null | undefined,
  ): PlannedNetwork[];
  /** Namespace and interfaces for a start (the default bridge first when asked). */
  attach(
    id: string,
    req: {
      defaultBridge: boolean;
      networks: readonly PlannedNetwork[];
      names: readonly string[];
      upstreams?: readonly string[];
    },
  ): Promise<AttachedNetworks>;
  /** Publish -p / -P on the attached container's network `primary`, as it is about to run. */
  publishPorts(id: string, primary: string, publish: PublishPorts): Promise<PortsView>;
  /** Check -p / -P at create (a bad spec is a 400 there, not a failed start). */
  checkPorts(publish: PublishPorts): void;
  /** Free every endpoint and the namespace; idempotent. */
  detach(id: string): Promise<void>;
  /**
   * A start is waiting on the runtime (runc's tens of ms): work deferred off the starts'
   * path (a spare namespace for the next one) may run now.
   */
  spareTime(): void;
}

export interface CreateTaskOptions {
  id: string;
  bundle: string;
  /**
   * The bundle's config.json, still being built: the runtime may start before it is ready
   * and read it once it is. A rejection aborts the create with that error.
   */
  spec: Promise<string>;
  logPath: string;
  /** Bytes after which the monitor truncates the log (only for a discard log). */
  logSizeMax?: number;
  tty: boolean;
  openStdin: boolean;
  /** Docker's StdinOnce: the first attach client's EOF closes stdin; else it stays open. */
  stdinOnce: boolean;
  /** Called once the runtime has the spec, while it sets the container up. */
  onSpec?: () => void;
}

export interface ExecTaskOptions {
  id: string;
  execId: string;
  /** The OCI process to run (the container's, with the exec's args, env, cwd, user). */
  process: object;
  logPath: string;
  tty: boolean;
  openStdin: boolean;
}

/** The OCI runtime under its monitor (runc under conmon). Stateless: the service keeps state. */
export interface RuntimePort {
  /** Create the container (runc create via conmon); resolves with the init pid. */
  create(opts: CreateTaskOptions): Promise<{ pid: number; conmonPid: number }>;
  /**
   * Let a created task's process run. With `creating` (its create still under way), the
   * release is armed now and happens as soon as the runtime can, before the create returns;
   * a failed create is then the answer.
   */
  start(id: string, creating?: Promise<unknown>): Promise<void>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  delete(id: string): Promise<void>;
  /** Delete a task and wait out its monitor, leaving no exit file behind (see the adapter). */
  discard(id: string): Promise<void>;
  /** Remove what the runtime keeps for a removed container outside its bundle. */
  forget(id: string): Promise<void>;
  /**
   * A container's process will join its cgroups soon (a create that a start is likely to
   * follow): begin the kernel's wait for that now (see CgroupLockWarmer). Never fails.
   */
  warmCgroups(): void;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  ps(id: string): Promise<number[]>;
  /** Whether the runtime has any state for the container (cheap: no process spawned). */
  hasTask(id: string): Promise<boolean>;
  /** IDs of every container the runtime has state for (cheap: no process spawned). */
  taskIds(): Promise<string[]>;
  /** 'running' | 'paused' | 'stopped' | 'created' | undefined when runc does not know it. */
  state(id: string): Promise<{ status: string; pid: number } | undefined>;
  exec(opts: ExecTaskOptions): Promise<{ pid: number }>;
  /** Exit code from the monitor's exit file, undefined while still running. */
  exitCode(id: string): Promise<number | undefined>;
  exitFileTime(id: string): Promise<Date | undefined>;
  clearExit(id: string): Promise<void>;
  oomKilled(id: string): Promise<boolean>;
  /** Directory the monitor drops exit files into (watched by the service). */
  readonly exitDir: string;
  resize(id: string, height: number, width: number, execId?: string): Promise<void>;
  reopenLogs(id: string): Promise<void>;
  openStdin(id: string, execId?: string): Promise<import('node:stream').Writable>;
}

export type { Readable };

export interface EventsPort {
  publish(
    type: 'container' | 'image' | 'network' | 'volume' | 'daemon',
    action: string,
    actor: { ID: string; Attributes: Record<string, string> },
  ): void;
}

export interface ExecExitPort {
  /** Resolves with the exec session's exit code once it has ended. */
  waitExecExit(id: string, execId: string, signal?: AbortSignal): Promise<number>;
}
