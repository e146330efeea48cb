import type { AttachedNetworks } from './ports.js';
import type { ContainerRecord } from './record.js';

/**
 * A container's task made ahead of its start (see ContainerService.prepareEarly): created by
 * the runtime (init waiting on runc's exec fifo), wired, not yet visible through the API.
 */
export interface PreparedTask {
  /** taskInputs() of the record it was made from. */
  inputs: string;
  /** The namespace and interfaces, for a container with a namespace of its own. */
  attached?: AttachedNetworks;
  pid: number;
  conmonPid: number;
  /** Whether the root is mounted on the host (else runc mounted it in the namespace). */
  hostRoot: boolean;
  /** The release of the process, begun before the create returned (see EarlyTask.go). */
  release?: Promise<void>;
}

/** An early task being made, waiting for its start (timer set), or refused by the runtime. */
export interface EarlyTask {
  rec: ContainerRecord;
  /** taskInputs() of the record when the task was begun. */
  inputs: string;
  /**
   * Set by a start that arrives while the task is in the making, with the record unchanged
   * and nothing else waiting on the container: its process is then released as soon as runc
   * can (arm), not after runc create and conmon have returned.
   */
  go?: boolean;
  /** While runc create runs: what the start calls to arm the release. */
  arm?: () => void;
  /** Resolves once the attempt is over: whether the task (and its rootfs mount) was made. */
  ready: Promise<boolean>;
  task?: PreparedTask;
  /** Why the runtime refused to make it, for the record as it was then. */
  failure?: { inputs: string; err: unknown };
  timer?: NodeJS.Timeout;
}

/**
 * Early tasks at once, at most: each holds a conmon, a runc init and (on the default bridge)
 * an address until its start, so a burst of `docker create` without starts stays cheap.
 */
export const MAX_EARLY_TASKS = 4;

/**
 * How long an early task waits for its start. `docker run` and compose start within
 * milliseconds of the create; a container created for later is taken back to plain created.
 */
export const EARLY_TASK_MS = 2000;

/**
 * What a task is made from, as one string: a record whose string differs from the one its
 * early task was made with (a network connected, a rename, anything changed between create
 * and start) gets a new task. Generous on purpose: it covers more than the task reads.
 */
export function taskInputs(rec: ContainerRecord): string {
  return JSON.stringify([
    rec.Name,
    rec.Config,
    rec.HostConfig,
    rec.runtime.mounts ?? [],
    rec.runtime.networks ?? [],
    rec.runtime.defaultBridge ?? null,
  ]);
}

/**
 * Whether a new container's task can be made before its start: its network namespace must be
 * its own or the host's, and on no network but the default bridge (whose ready-made
 * namespaces take no name in any DNS). A `container:` namespace is looked up at start, and a
 * user-defined network would publish the container's name in its DNS before it runs.
 */
export function earlyEligible(rec: ContainerRecord): boolean {
  return (
    earlyEligibleNetworks(rec.HostConfig.NetworkMode ?? 'bridge', rec.runtime.networks ?? []) &&
    rec.runtime.defaultBridge !== false
  );
}

/** earlyEligible's test of the network mode and the networks planned at create. */
export function earlyEligibleNetworks(mode: string, networks: readonly unknown[]): boolean {
  if (mode === 'none' || mode === 'host') return true;
  if (mode !== 'bridge' && mode !== 'default') return false;
  return networks.length === 0;
}

/**
 * A task begun before any create asked for it: conmon spawned and `runc create` started for
 * a container ID drawn ahead, waiting on its spec FIFO (see SpecFifos) for a spec that does
 * not exist yet. The next create that fits (early-eligible, no TTY, no stdin, a log file)
 * takes its ID and hands it the spec: conmon's and runc's startup (~10 ms) is then off that
 * create's path. Nothing runs in it and nothing of it shows through the API; unused for
 * SPARE_TASK_MS it is dropped (runc reads EOF and fails, conmon goes).
 */
export interface SpareTask {
  id: string;
  /** The runtime's create, settling once runc has the spec and has returned. */
  created: Promise<{ pid: number; conmonPid: number }>;
  spec: { resolve: (json: string) => void; reject: (err: unknown) => void };
  timer?: NodeJS.Timeout;
  /** Set once a create has taken its ID: the container's directory is then that create's. */
  taken?: boolean;
  /** Set once the create has handed it to an early task, which then owns its undoing. */
  handed?: boolean;
}

/** How long a spare task waits for a create; the engine keeps none when idle longer. */
export const SPARE_TASK_MS = 20_000;

/**
 * How long after a start the next spare is begun, unless another create or start comes
 * first. Beginning one blocks the daemon's event loop for its fork (~2 ms) and takes a few ms
 * of CPU for conmon's and runc's startup: begun in this lull, that lands neither on the start
 * just done, nor on a short-lived process's exit right behind it, nor on the next container's
 * runc. A/B on 2 cores, against beginning it when a create hands runc its spec: 2.5–3 ms
 * faster for `docker run --rm` and `docker run -d`; beginning it at once after the start was
 * 3.6 ms slower.
 */
export const SPARE_LULL_MS = 10;

/** Whether a create can take a spare task: conmon's arguments are the same for it. */
export function spareFits(o: {
  mode: string;
  networks: readonly unknown[];
  tty?: boolean;
  openStdin?: boolean;
  logType: string;
}): boolean {
  return (
    earlyEligibleNetworks(o.mode, o.networks) && !o.tty && !o.openStdin && o.logType !== 'none'
  );
}

/** spareFits for a container already created: whether one like it could take a spare. */
export function spareFitsRecord(rec: ContainerRecord): boolean {
  return spareFits({
    mode: rec.HostConfig.NetworkMode ?? 'bridge',
    networks: rec.runtime.networks ?? [],
    tty: rec.Config.Tty,
    openStdin: rec.Config.OpenStdin,
    logType: rec.HostConfig.LogConfig?.Type ?? 'json-file',
  });
}
