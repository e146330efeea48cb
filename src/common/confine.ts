import { isErrno } from './errors.js';

/**
 * Resolve `p` in a tree as if the tree's root were `/`, the way a process chrooted there
 * would: symlinks (absolute or relative) are followed but can never leave the root, `..`
 * stops at it, and missing trailing components are kept as given (so the result can be
 * created). `readSymlink(rel)` gives the target of the entry at `rel` (components joined
 * by '/') when it is a symlink, undefined when it is anything else or absent. Returns the
 * resolved components.
 */
export async function resolveConfined(
  p: string,
  readSymlink: (rel: string) => Promise<string | undefined>,
): Promise<string[]> {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  const resolved: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    let target: string | undefined;
    try {
      target = await readSymlink([...resolved, part].join('/'));
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
  return resolved;
}
