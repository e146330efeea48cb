/** Filesystem work on a volume's data: copy-up from the image, and its size. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno, run } from '../common/index.js';

/**
 * Docker's copy-up: when a volume is empty at its first mount, the image's content at the
 * mount point (`src`, already resolved inside the container's rootfs) is copied in, keeping
 * ownership, modes, timestamps, links and xattrs; the volume's root takes the source
 * directory's owner and mode. Returns whether anything was copied.
 */
export async function copyUp(src: string, dst: string): Promise<boolean> {
  let st;
  try {
    st = await fsp.stat(src);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
  if (!st.isDirectory()) return false;
  if ((await fsp.readdir(dst)).length > 0) return false;
  const entries = await fsp.readdir(src);
  // `cp -a` does the tree faithfully (hard links, sparse files, xattrs) in one process.
  if (entries.length > 0) await run(['cp', '-a', '--', `${src}/.`, `${dst}/`]);
  await fsp.chown(dst, st.uid, st.gid);
  await fsp.chmod(dst, st.mode & 0o7777);
  return true;
}

/** Bytes used by the files under `dir`, each inode counted once (for SpaceReclaimed). */
export async function dirSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      const st = await fsp.lstat(p).catch(() => undefined);
      if (!st) continue;
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) total += st.size;
    }
  };
  await walk(dir);
  return total;
}
