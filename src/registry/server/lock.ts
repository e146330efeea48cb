/**
 * One process at a time per registry root: `serve` holds the lock for its lifetime and `gc`
 * for its run, so GC never sweeps a blob that an upload has just committed but no manifest
 * references yet. The lock is an abstract unix socket named after the root (as wharfd's data
 * root lock): the kernel frees it the instant the holder dies, so it never goes stale.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

import { WharfError } from '../../common/index.js';

export async function lockRoot(root: string, what: string): Promise<net.Server> {
  const abs = path.resolve(root);
  const name = `\0wharf-registry-${createHash('sha256').update(abs).digest('hex').slice(0, 32)}`;
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new WharfError(
            'conflict',
            'ERR_REGISTRY_ROOT_LOCKED',
            `registry root ${abs} is in use by another wharf registry process; stop it before ${what}`,
          ),
        );
      } else reject(err);
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return server;
}
