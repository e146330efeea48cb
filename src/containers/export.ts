import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { tarDirectory } from '../archive/index.js';
import { isErrno, type Logger } from '../common/index.js';
import type { SnapshotsPort } from './ports.js';
import type { ContainerRecord } from './record.js';

/** Views mounted for exports and lookups live under the exec root as `.export-<id12>-<rand>`. */
const VIEW_PREFIX = '.export-';

interface ViewDeps {
  snapshots: SnapshotsPort;
  execDir: string;
  log: Logger;
}

/** A read-only view of the container's files mounted beside the bundles. */
async function mountViewDir(
  rec: ContainerRecord,
  deps: ViewDeps,
): Promise<{ dir: string; release: () => Promise<void> }> {
  await fsp.mkdir(deps.execDir, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(deps.execDir, `${VIEW_PREFIX}${rec.Id.slice(0, 12)}-`));
  const release = async (): Promise<void> => {
    await deps.snapshots.unmount(dir).catch((err: unknown) => {
      deps.log.warn({ err, container: rec.Id }, 'unmounting a view');
    });
    await fsp.rmdir(dir).catch(() => undefined);
  };
  try {
    await deps.snapshots.mountView(rec.Id, dir);
  } catch (err) {
    await release();
    throw err;
  }
  return { dir, release };
}

/** Run `fn` over a read-only view of the container's files (image layers and its changes). */
export async function withView<T>(
  rec: ContainerRecord,
  deps: ViewDeps,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const view = await mountViewDir(rec, deps);
  try {
    return await fn(view.dir);
  } finally {
    await view.release();
  }
}

/**
 * `docker export`: the container's filesystem as one tar (no image layers, no history). A
 * live rootfs mount (a running container's, or a created one's) is archived as it is; for any
 * other a read-only view
 * (SnapshotsPort.mountView) is mounted beside the bundles for as long as the stream lasts. As
 * with Docker, what is bind-mounted into the container (volumes, /etc/hosts…) is not in it.
 */
export async function exportContainer(
  rec: ContainerRecord,
  deps: { snapshots: SnapshotsPort; execDir: string; log: Logger; live: boolean },
): Promise<Readable> {
  if (deps.live) return tarDirectory(path.join(deps.execDir, rec.Id, 'rootfs'));
  const view = await mountViewDir(rec, deps);
  try {
    const tar = await tarDirectory(view.dir);
    tar.once('close', () => void view.release());
    return tar;
  } catch (err) {
    await view.release();
    throw err;
  }
}

/** At daemon start: views left mounted by exports a crash interrupted. */
export async function releaseStaleExportViews(
  execDir: string,
  snapshots: SnapshotsPort,
): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(execDir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  for (const n of names.filter((x) => x.startsWith(VIEW_PREFIX))) {
    const dir = path.join(execDir, n);
    await snapshots.unmount(dir).catch(() => undefined);
    await fsp.rmdir(dir).catch(() => undefined);
  }
}
