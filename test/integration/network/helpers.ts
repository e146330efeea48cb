/** What the network tests share: a dockerode client, docker-CLI assertions, and a cleanup. */
import http from 'node:http';

import Docker from 'dockerode';
import { expect } from 'vitest';

import type { DaemonHandle } from '../../harness/daemon.js';

/** dockerode on the test daemon's socket (no keep-alive: the daemon stops between files). */
export function dockerode(d: DaemonHandle): Docker {
  return new Docker({
    socketPath: d.socket,
    agent: new http.Agent({ keepAlive: false }),
  } as never);
}

/** `docker …` expected to succeed; its trimmed stdout. */
export function cliOk(d: DaemonHandle, args: string[]): string {
  const r = d.cli(args);
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

/** `docker …` expected to fail; its stderr. */
export function cliFails(d: DaemonHandle, args: string[]): string {
  const r = d.cli(args);
  expect(r.code, `docker ${args.join(' ')} should fail: ${r.stdout}`).not.toBe(0);
  return r.stderr;
}

/** Remove every container and user-defined network the test left, then stop the daemon. */
export async function stopClean(d: DaemonHandle | undefined, docker: Docker): Promise<void> {
  if (d?.alive) {
    const list = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    const nets = await docker.listNetworks().catch(() => []);
    for (const n of nets) {
      if (!['bridge', 'host', 'none'].includes(n.Name))
        await docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
    }
  }
  await d?.stop();
}
