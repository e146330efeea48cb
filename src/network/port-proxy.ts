import dgram from 'node:dgram';
import net from 'node:net';

import { conflict, errorMessage, type Logger } from '../common/index.js';
import type { PortMapping, PortRequest } from './ports.js';

const UDP_IDLE_MS = 60_000;

interface Held {
  close(): void;
}

/** Where a container's published ports lead: its v4 address, and its v6 one if it has one. */
export interface ProxyTarget {
  v4: string;
  v6?: string;
}

/**
 * The host side of published ports: one listening socket per port, held by the daemon (as
 * docker-proxy holds them). Holding the port is what makes "port already allocated" an error
 * at start instead of a silent clash, and keeps other programs off it. IPv4 traffic, 127.0.0.1
 * included, is DNATed by the kernel before it reaches the socket (route_localnet on our
 * bridges); the socket relays only what arrives while the rules are missing (between a
 * daemon crash and the next start's rebuild, say), so a port never silently goes dead.
 *
 * IPv6 host addresses (`[::]`, `[::1]`, …) are relayed by these sockets alone, to the
 * container's v6 address when it has one, else its v4 address (as docker-proxy): the kernel
 * cannot DNAT a `::1` destination out of the host (IPv6 has no route_localnet), and Wharf
 * leaves the host's v6 forwarding as it is, so a DNAT to the container would not be routed.
 */
export class PortProxies {
  private readonly held = new Map<string, Held[]>();

  constructor(private readonly log: Logger) {}

  /** Bind every request for container `owner`, relaying to `target`; all or nothing. */
  async bind(
    owner: string,
    target: ProxyTarget,
    reqs: readonly PortRequest[],
  ): Promise<PortMapping[]> {
    const out: PortMapping[] = [];
    try {
      for (const r of reqs) out.push(await this.bindOne(owner, target, r));
    } catch (err) {
      this.release(owner);
      throw err;
    }
    return out;
  }

  /** Re-hold known mappings (daemon restart); failures are logged, not thrown. */
  async restore(
    owner: string,
    target: ProxyTarget,
    mappings: readonly PortMapping[],
  ): Promise<void> {
    for (const m of mappings) {
      await this.bindOne(owner, target, {
        proto: m.proto,
        containerPort: m.containerPort,
        hostIp: m.hostIp,
        hostPorts: [m.hostPort, m.hostPort],
      }).catch((err: unknown) =>
        this.log.warn({ container: owner, port: m.hostPort, err: errorMessage(err) }, 'port proxy'),
      );
    }
  }

  release(owner: string): void {
    for (const h of this.held.get(owner) ?? []) h.close();
    this.held.delete(owner);
  }

  releaseAll(): void {
    for (const owner of [...this.held.keys()]) this.release(owner);
  }

  private async bindOne(owner: string, targets: ProxyTarget, r: PortRequest): Promise<PortMapping> {
    const [first, last] = r.hostPorts;
    const host = r.hostIp || '0.0.0.0';
    // Clients on a v6 address reach the container's v6 address when it has one.
    const target = host.includes(':') ? (targets.v6 ?? targets.v4) : targets.v4;
    const bind = r.proto === 'tcp' ? this.tcp.bind(this) : this.udp.bind(this);
    // Any free port: a few tries, in case the one the kernel picks is taken on [::].
    const attempts = first === 0 ? 5 : last - first + 1;
    let lastErr: unknown;
    let failedOn = host;
    for (let i = 0; i < attempts; i++) {
      const port = first === 0 ? 0 : first + i;
      let v4: { held: Held; bound: number };
      try {
        v4 = await bind(host, port, target, r.containerPort);
      } catch (err) {
        lastErr = err;
        failedOn = host;
        continue;
      }
      const held = [v4.held];
      // Published on every address (no host IP given): IPv6 ones too, as dockerd, through
      // this relay (the container has no IPv6 address to DNAT to). A host without IPv6
      // publishes on IPv4 alone; a port taken on [::] is taken.
      let v6 = false;
      if (r.hostIp === '') {
        try {
          held.push((await bind('::', v4.bound, targets.v6 ?? targets.v4, r.containerPort)).held);
          v6 = true;
        } catch (err) {
          if ((err as { code?: string }).code === 'EADDRINUSE') {
            v4.held.close();
            lastErr = err;
            failedOn = '::';
            continue;
          }
        }
      }
      const list = this.held.get(owner) ?? [];
      list.push(...held);
      this.held.set(owner, list);
      return {
        proto: r.proto,
        containerPort: r.containerPort,
        hostIp: r.hostIp,
        hostPort: v4.bound,
        ...(v6 ? { v6 } : {}),
      };
    }
    const shown = first === last ? String(first) : `${first}-${last}`;
    const code = (lastErr as { code?: string } | undefined)?.code;
    throw conflict(
      code === 'EADDRINUSE'
        ? `Bind for ${failedOn}:${shown} failed: port is already allocated`
        : `Bind for ${failedOn}:${shown} failed: ${errorMessage(lastErr)}`,
    );
  }

  private tcp(
    host: string,
    port: number,
    target: string,
    targetPort: number,
  ): Promise<{ held: Held; bound: number }> {
    const conns = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: target, port: targetPort });
      conns.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        conns.delete(client);
        conns.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true, ipv6Only: host.includes(':') }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.warn({ port, err: errorMessage(err) }, 'port proxy'));
        const close = (): void => {
          server.close();
          for (const c of conns) c.destroy();
        };
        resolve({ held: { close }, bound: (server.address() as net.AddressInfo).port });
      });
    });
  }

  private udp(
    host: string,
    port: number,
    target: string,
    targetPort: number,
  ): Promise<{ held: Held; bound: number }> {
    const sock = host.includes(':')
      ? dgram.createSocket({ type: 'udp6', ipv6Only: true })
      : dgram.createSocket('udp4');
    // One upstream socket per client address, so replies find their way back.
    const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
    const dropFlow = (key: string): void => {
      const f = flows.get(key);
      if (!f) return;
      clearTimeout(f.timer);
      f.up.close();
      flows.delete(key);
    };
    sock.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let f = flows.get(key);
      if (!f) {
        const up = dgram.createSocket(target.includes(':') ? 'udp6' : 'udp4');
        up.on('message', (reply) => sock.send(reply, rinfo.port, rinfo.address));
        up.on('error', () => dropFlow(key));
        f = { up, timer: setTimeout(() => dropFlow(key), UDP_IDLE_MS) };
        flows.set(key, f);
      }
      f.timer.refresh();
      f.up.send(msg, targetPort, target);
    });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.log.warn({ port, err: errorMessage(err) }, 'udp proxy'));
        const close = (): void => {
          for (const k of [...flows.keys()]) dropFlow(k);
          sock.close();
        };
        resolve({ held: { close }, bound: sock.address().port });
      });
    });
  }
}
