import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno } from '../common/index.js';

/**
 * Resolve `p` inside `root` as the container would see it: symlinks (absolute or relative)
 * are followed but can never leave `root`, as if `root` were `/`. Missing trailing components
 * are kept as given, so the result can be created. Never returns a path outside `root`.
 */
export async function resolveInRoot(root: string, p: string): Promise<string> {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  const resolved: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    let target: string | undefined;
    try {
      const st = await fsp.lstat(candidate);
      if (st.isSymbolicLink()) target = await fsp.readlink(candidate);
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++hops > 40)
      throw Object.assign(new Error(`too many levels of symbolic links: ${p}`), { code: 'ELOOP' });
    if (target.startsWith('/')) resolved.length = 0;
    parts.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
  }
  return path.join(root, ...resolved);
}
