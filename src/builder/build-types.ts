/** The builder's options, events and stage state (shared by executor.ts and build-run.ts). */
import type { Readable } from 'node:stream';

import type { Descriptor, Digest } from '../oci/index.js';
import type { StageConfig } from './config-steps.js';

export interface BuildOptions {
  /** The context tar (maybe gzip-compressed). */
  context: Readable;
  /** Path of the Dockerfile inside the context. */
  dockerfile: string;
  /** `repo:tag` references to point at the result (already validated). */
  tags: string[];
  /** `--build-arg`s; a null value means "declared without a value" (kept default). */
  buildArgs: Map<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  /** Do not use the step cache (steps are still recorded in it). */
  noCache: boolean;
  /** Pull base images even when present (a missing one is always pulled). */
  pull: boolean;
  /** Credentials by registry (opaque here: the pull port picks the one for a reference). */
  registryAuth?: Record<string, unknown>;
  /** HostConfig limits for RUN containers (Memory, CpuShares, ShmSize...). */
  runLimits?: Record<string, number | string>;
  rm: boolean;
  forceRm: boolean;
  networkMode: string;
  extraHosts: string[];
  /** `--platform`: the target platform (`os/arch[/variant]`), the daemon's by default. */
  platform?: string;
  /** `--squash`: one layer for everything the build added on its base. */
  squash?: boolean;
  /** `--secret`s by id, for RUN --mount=type=secret (secrets.ts: never stored). */
  secrets?: ReadonlyMap<string, Buffer>;
}

/** What a build says as it goes: docker's `{"stream": …}` text and `{"aux": {"ID": …}}`. */
export type BuildEvent =
  | { stream: string }
  | { aux: { ID: string } }
  /** A base image's pull progress, docker's JSON progress message as it is. */
  | { progress: Record<string, unknown> };

/** A stage's state after a step. */
export interface StageState extends StageConfig {
  layers: Descriptor[];
  chainID: Digest | undefined;
  /** The cache key of this state: the base image's ID, then a digest chain of the steps. */
  key: string;
}
