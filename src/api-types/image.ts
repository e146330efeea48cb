/** Docker Engine API wire shapes for images. */
import type { ContainerConfig } from './container.js';

/** The image config as stored in an image's config blob ("config" inside the OCI config). */
export type ImageRuntimeConfig = Pick<
  ContainerConfig,
  | 'User'
  | 'ExposedPorts'
  | 'Env'
  | 'Entrypoint'
  | 'Cmd'
  | 'Volumes'
  | 'WorkingDir'
  | 'Labels'
  | 'StopSignal'
  | 'Healthcheck'
  | 'OnBuild'
  | 'Shell'
  | 'ArgsEscaped'
>;

/** GET /images/json entry. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

/** GET /images/{name}/history entry. */
export interface HistoryResponseItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** GET /images/{name}/json. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container?: string;
  ContainerConfig?: unknown;
  DockerVersion: string;
  Author: string;
  Config: ImageRuntimeConfig & Record<string, unknown>;
  Architecture: string;
  Os: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: 'layers'; Layers: string[] };
  Metadata: { LastTagTime: string };
}
