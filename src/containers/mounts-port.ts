/**
 * What containers need from the volumes layer (wired by the daemon to the volume service).
 * Lifecycle per container: `create`/`reference` when the container is created, `mount` at
 * each start and `unmount` at each exit, `unreference` (and `remove` for its anonymous
 * volumes with `rm -v`) when it is removed; `restoreActive` after a daemon restart.
 */
export interface VolumesPort {
  /** Create a volume, or return the existing one of that name. */
  create(opts: {
    name?: string;
    anonymous?: boolean;
    driver?: string;
    driverOpts?: Record<string, string> | null;
    labels?: Record<string, string> | null;
    /** Reference it for this container at once (no window for a prune). */
    referenceBy?: string;
  }): Promise<{ Name: string; Driver: string; Mountpoint: string }>;
  /** Throws not-found when the volume does not exist. */
  reference(name: string, containerId: string): void;
  unreference(name: string, containerId: string): void;
  /** Ready the volume for a start (mount its filesystem, copy-up); returns its host path. */
  mount(
    name: string,
    containerId: string,
    copyFrom?: string,
    /** For the `volume mount` event. */
    at?: { destination: string; rw: boolean; propagation: string },
  ): Promise<string>;
  unmount(name: string, containerId: string): Promise<void>;
  remove(name: string, opts?: { force?: boolean }): Promise<void>;
  restoreActive(name: string, containerId: string): void;
}
