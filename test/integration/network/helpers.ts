/** What the network tests share: a dockerode client, docker-CLI assertions, and a cleanup. */
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

import Docker from 'dockerode';
import { expect } from 'vitest';

import { eventually, type DaemonHandle } from '../../harness/daemon.js';

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

/**
 * An HTTP GET of a published port; undefined when nothing answers. The busybox CGI scripts
 * end their headers with a bare LF, which Node's strict parser refuses.
 */
export function httpGet(
  host: string,
  port: number,
  path = '/index.html',
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const opts = { host, port, path, timeout: 2000, agent: false, insecureHTTPParser: true };
    const req = http.get(opts, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** A TCP port free on both ::1 and 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '::1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => {
        const s4 = net
          .createServer()
          .listen(port, '127.0.0.1', () => s4.close(() => resolve(port)));
        s4.on('error', () => freePort().then(resolve, reject));
      });
    });
    s.on('error', reject);
  });
}

/** Whether a TCP port can be bound on `host` now (nothing holds it). */
export function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Send `text` over UDP to host:port until the container's log shows it arrived. */
export async function udpReaches(
  d: DaemonHandle,
  container: string,
  host: string,
  port: number,
  text: string,
): Promise<void> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    await eventually(
      () => {
        sock.send(`${text}\n`, port, host);
        return cliOk(d, ['logs', container]).includes(text);
      },
      10_000,
      `a UDP datagram to ${host}:${port}`,
    );
  } finally {
    sock.close();
  }
}
