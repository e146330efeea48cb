import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { conflict, run } from '../common/index.js';
import type { ContainerRecord } from './record.js';
import type { RuntimePort, SnapshotsPort } from './ports.js';

/** `docker top`: the host's ps output, keeping the rows of the container's processes. */
export async function top(
  runtime: RuntimePort,
  rec: ContainerRecord,
  psArgs: string,
): Promise<{ Titles: string[]; Processes: string[][] }> {
  if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
  const pids = new Set((await runtime.ps(rec.Id)).map(String));
  const args = psArgs.split(/\s+/).filter(Boolean);
  const { stdout } = await run(['ps', ...args]);
  return parsePs(stdout, pids);
}

export function parsePs(
  out: string,
  pids: Set<string>,
): { Titles: string[]; Processes: string[][] } {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw conflict(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!pids.has(fields[pidCol]!)) continue;
    // The last column (command) may contain spaces: join what is beyond the titles.
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

/**
 * What the runtime itself puts in a container's upper dir as mount points when the image
 * lacks them (runc creates them; Docker keeps them in a separate "init" layer): never part of
 * `diff` or of a commit. Relative paths; a directory covers everything below it.
 */
export const RUNTIME_MOUNT_POINTS = [
  'dev',
  'proc',
  'sys',
  'etc/hosts',
  'etc/hostname',
  'etc/resolv.conf',
];

function isRuntimeMountPoint(rel: string): boolean {
  return RUNTIME_MOUNT_POINTS.some((p) => rel === p || rel.startsWith(`${p}/`));
}

/**
 * `docker diff`: walk the container's upper dir. A whiteout (char 0:0) is a deletion (2), a
 * path that exists in an image layer is a change (0), anything else an addition (1).
 */
export async function changes(
  snapshots: SnapshotsPort,
  rec: ContainerRecord,
): Promise<Array<{ Path: string; Kind: number }>> {
  const upper = snapshots.upperDir(rec.Id);
  const lowers = await snapshots.lowerDirs(rec.runtime.parentChainID);
  const out: Array<{ Path: string; Kind: number }> = [];
  const inLower = async (rel: string): Promise<boolean> => {
    for (const l of lowers) {
      try {
        await fsp.lstat(path.join(l, rel));
        return true;
      } catch {
        /* not in this layer */
      }
    }
    return false;
  };
  const walk = async (rel: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(path.join(upper, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const ent of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(rel, ent.name);
      if (isRuntimeMountPoint(p)) continue;
      if (ent.isCharacterDevice()) {
        const st = await fsp.lstat(path.join(upper, p));
        if (st.rdev === 0) {
          out.push({ Path: `/${p}`, Kind: 2 });
          continue;
        }
      }
      out.push({ Path: `/${p}`, Kind: (await inLower(p)) ? 0 : 1 });
      if (ent.isDirectory()) await walk(p);
    }
  };
  await walk('');
  return out;
}
