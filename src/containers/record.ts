import type {
  ContainerConfig,
  ContainerState,
  EndpointSettings,
  HostConfig,
} from '../api-types/index.js';
import type { MountRecord } from './mounts.js';
import type { PlannedNetwork } from './ports.js';

export const RECORD_SCHEMA_VERSION = 1;

/**
 * What Wharf persists per container (data-root/containers/<id>/container.json). Shaped like
 * Docker's inspect so that serving it is a projection, plus `runtime`, which is ours.
 * Records are a cache of the truth: at start the daemon reconciles them with runc and conmon.
 */
export interface ContainerRecord {
  schemaVersion: number;
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  NetworkSettings: {
    SandboxKey: string;
    Networks: Record<string, EndpointSettings>;
    /** Published ports of the current run (set at start). */
    Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
  };
  runtime: {
    /** The image name as the user gave it (Config.Image holds it too). */
    imageRef: string;
    /** Top chain ID of the image's layers, parent of the container's snapshot. */
    parentChainID: string;
    user: { uid: number; gid: number; additionalGids: number[] };
    conmonPid?: number;
    /** When the current run started (ms since epoch), for "Up 3 seconds". */
    startedAtMs?: number;
    /** Set while a stop was requested by the user, for restart policies later. */
    stoppedByUser?: boolean;
    /** Volumes, binds and tmpfs mounts planned at create (shown as `Mounts`). */
    mounts?: MountRecord[];
    /** User-defined networks the container is on (set at create, by network connect/disconnect). */
    networks?: PlannedNetwork[];
    /**
     * On the default bridge: set by `network connect/disconnect bridge`; absent means what
     * NetworkMode says (bridge).
     */
    defaultBridge?: boolean;
  };
}

export function emptyState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: '0001-01-01T00:00:00Z',
    FinishedAt: '0001-01-01T00:00:00Z',
  };
}
