import type { Readable } from 'node:stream';

import { overlayDiff } from '../archive/index.js';
import { conflict } from '../common/index.js';
import type { RuntimePort, SnapshotsPort } from './ports.js';
import { RUNTIME_MOUNT_POINTS } from './query.js';
import type { ContainerRecord } from './record.js';
import type { ContainerStore } from './store.js';

/** What a commit reads from a container: its record and its changes as a layer tar. */
export interface CommitSource {
  rec: ContainerRecord;
  layer: Readable;
  /** Call when the layer has been consumed (or abandoned): resumes a paused container. */
  done(): Promise<void>;
}

/**
 * The container side of `docker commit`: its writable layer as a Docker layer tar (without
 * the mount points the runtime adds, see RUNTIME_MOUNT_POINTS), read while a running
 * container is frozen when `pause` is asked (Docker's default) so the layer is consistent.
 */
export async function openCommitSource(
  deps: { store: ContainerStore; runtime: RuntimePort; snapshots: SnapshotsPort },
  ref: string,
  opts: { pause: boolean; exclude?: string[] | undefined },
): Promise<CommitSource> {
  const rec = deps.store.get(ref);
  if (rec.State.Status === 'removing') {
    throw conflict(`You cannot commit container ${rec.Id} which is being removed`);
  }
  const freeze = opts.pause && rec.State.Running && !rec.State.Paused;
  if (freeze) await deps.runtime.pause(rec.Id);
  let resumed = false;
  const done = async (): Promise<void> => {
    if (!freeze || resumed) return;
    resumed = true;
    await deps.runtime.resume(rec.Id);
  };
  try {
    const layer = await overlayDiff(deps.snapshots.upperDir(rec.Id), {
      // Also what the caller names (a build's secret mount points).
      exclude: [...RUNTIME_MOUNT_POINTS, ...(opts.exclude ?? [])],
    });
    return { rec, layer, done };
  } catch (err) {
    await done();
    throw err;
  }
}
