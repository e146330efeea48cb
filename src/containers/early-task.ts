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
  const mode = rec.HostConfig.NetworkMode ?? 'bridge';
  if (mode === 'none' || mode === 'host') return true;
  if (mode !== 'bridge' && mode !== 'default') return false;
  return (rec.runtime.networks ?? []).length === 0 && rec.runtime.defaultBridge !== false;
}
