import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { Usage } from './snapshotter.js';

/** Apparent size of non-directory files (each inode once) and the inode count under `dir`. */
export async function dirUsage(dir: string): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = await fsp.lstat(p, { bigint: true });
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (e.isDirectory()) stack.push(p);
      else size += Number(st.size);
    }
  }
  return { size, inodes: seen.size };
}
