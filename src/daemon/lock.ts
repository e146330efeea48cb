import { createHash } from 'node:crypto';
import net from 'node:net';

import { WharfError } from '../common/index.js';

/**
 * One daemon per data root. The lock is an abstract unix socket named after the data root:
 * binding it is atomic, and the kernel releases it the instant the process dies (kill -9
 * included), so there is never a stale lock file to reason about.
 */
export async function lockDataRoot(dataRoot: string): Promise<net.Server> {
  const name = `\0wharfd-lock-${createHash('sha256').update(dataRoot).digest('hex').slice(0, 32)}`;
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new WharfError(
            'conflict',
            'ERR_DATA_ROOT_LOCKED',
            `another wharfd is already running with data root ${dataRoot}`,
            { hint: 'stop it first, or start this one with a different --data-root' },
          ),
        );
      } else reject(err);
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return server;
}
