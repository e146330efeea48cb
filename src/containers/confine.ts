import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { resolveConfined } from '../common/index.js';

/**
 * Resolve `p` inside `root` as the container would see it: symlinks (absolute or relative)
 * are followed but can never leave `root`, as if `root` were `/`. Missing trailing components
 * are kept as given, so the result can be created. Never returns a path outside `root`.
 */
export async function resolveInRoot(root: string, p: string): Promise<string> {
  const parts = await resolveConfined(p, async (rel) => {
    const candidate = path.join(root, rel);
    return (await fsp.lstat(candidate)).isSymbolicLink() ? fsp.readlink(candidate) : undefined;
  });
  return path.join(root, ...parts);
}
