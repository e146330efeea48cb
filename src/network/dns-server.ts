import dgram from 'node:dgram';
import { promises as fsp } from 'node:fs';
import net from 'node:net';

import { errorMessage, type Logger } from '../common/index.js';
import { decide, decideFor, nameservers, servfail, type DnsNetwork } from './dns-answer.js';
import { openNetnsSocket } from './dns-netns.js';

const FORWARD_TIMEOUT_MS = 2000;
const MAX_TCP_MESSAGE = 65535;

export interface EmbeddedDnsOptions {
  /** The user-defined networks as they are now (read on every query: no cache to go stale). */
  networks: () => DnsNetwork[];
  /** The host's resolv.conf, read at forward time (it may change under a running daemon). */
  hostResolvConf?: string;
  logger: Logger;
}

/**
 * The embedded DNS server of user-defined networks: one UDP socket and one TCP listener per
 * network, bound on the network's gateway address, port 53, in the daemon's (the host's)
 * namespace. Containers' resolv.conf names that gateway. Being in the host namespace, the
 * forwarder reaches the host's own resolvers, loopback ones included, which a resolver inside
 * the container's namespace could not. See docs/architecture.md (Embedded DNS).
 */
export class EmbeddedDns {
  private readonly listeners = new Map<
    string,
    { udp: dgram.Socket; tcp: net.Server; port: number }
  >();

  /** Sockets inside containers' namespaces (127.0.0.11:53), by container ID. */
  private readonly inNetns = new Map<string, dgram.Socket>();

  constructor(private readonly opts: EmbeddedDnsOptions) {}

  /**
   * Answer container `id` on 127.0.0.11:53 inside its namespace (networks whose gateway is not
   * the host: macvlan). Idempotent; a failure is logged and the container has no resolver.
   */
  async listenInNetns(id: string, netnsPath: string): Promise<boolean> {
    if (this.inNetns.has(id)) return true;
    let sock: dgram.Socket;
    try {
      sock = await openNetnsSocket(netnsPath);
    } catch (err) {
      this.opts.logger.warn({ container: id, err: errorMessage(err) }, 'no DNS in the namespace');
      return false;
    }
    sock.on('error', (err) =>
      this.opts.logger.warn({ container: id, err: errorMessage(err) }, 'dns'),
    );
    sock.on('message', (msg, rinfo) => {
      void this.respond(msg, decideFor(msg, id, this.opts.networks())).then((res) => {
        if (res && this.inNetns.get(id) === sock) sock.send(res, rinfo.port, rinfo.address);
      });
    });
    this.inNetns.set(id, sock);
    return true;
  }

  unlistenInNetns(id: string): void {
    const sock = this.inNetns.get(id);
    if (!sock) return;
    this.inNetns.delete(id);
    sock.close();
  }

  /**
   * The port the resolver of `gateway` listens on: 53, or another one when something on the
   * host already holds port 53 there (a resolver bound on all addresses); the firewall then
   * redirects the network's port-53 traffic to it. Undefined when not listening.
   */
  portFor(gateway: string): number | undefined {
    return this.listeners.get(gateway)?.port;
  }

  /**
   * Listen on `gateway`:53, or on a free port there when 53 is taken (idempotent). A failure
   * is logged: DNS is lost, not the network.
   */
  async listen(gateway: string): Promise<void> {
    if (this.listeners.has(gateway)) return;
    let bound: { udp: dgram.Socket; tcp: net.Server; port: number } | undefined;
    let lastErr: unknown;
    // 53 first; then ports the kernel picks (UDP first, TCP on the same number, which another
    // program may hold: a few tries).
    for (const want of [53, 0, 0, 0, 0]) {
      try {
        bound = await this.bind(gateway, want);
        break;
      } catch (err) {
        lastErr = err;
      }
    }
    if (!bound) {
      this.opts.logger.warn({ gateway, err: errorMessage(lastErr) }, 'embedded DNS not listening');
      return;
    }
    if (bound.port !== 53)
      this.opts.logger.warn(
        { gateway, port: bound.port },
        'port 53 is taken on the gateway address: the embedded DNS listens on another port',
      );
    const { udp } = bound;
    udp.on('error', (err) => this.opts.logger.warn({ gateway, err: errorMessage(err) }, 'dns'));
    udp.on('message', (msg, rinfo) => {
      void this.handle(msg, rinfo.address, gateway).then((res) => {
        if (res) udp.send(res, rinfo.port, rinfo.address);
      });
    });
    this.listeners.set(gateway, bound);
  }

  private async bind(
    gateway: string,
    port: number,
  ): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
    const udp = dgram.createSocket({ type: 'udp4' });
    const tcp = net.createServer((sock) => this.serveTcp(sock, gateway));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: gateway, port, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const chosen = udp.address().port;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: gateway, port: chosen, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: chosen };
    } catch (err) {
      for (const close of [() => udp.close(), () => tcp.close()]) {
        try {
          close();
        } catch {
          /* never bound */
        }
      }
      throw err;
    }
  }

  async unlisten(gateway: string): Promise<void> {
    const l = this.listeners.get(gateway);
    if (!l) return;
    this.listeners.delete(gateway);
    l.udp.close();
    await new Promise<void>((r) => l.tcp.close(() => r()));
  }

  async close(): Promise<void> {
    for (const id of [...this.inNetns.keys()]) this.unlistenInNetns(id);
    await Promise.all([...this.listeners.keys()].map((g) => this.unlisten(g)));
  }

  private handle(msg: Buffer, from: string, local: string): Promise<Buffer | undefined> {
    return this.respond(msg, decide(msg, from, local, this.opts.networks()));
  }

  private async respond(msg: Buffer, d: ReturnType<typeof decide>): Promise<Buffer | undefined> {
    if (d.kind === 'drop') return undefined;
    if (d.kind === 'answer') return d.response;
    const upstreams = d.upstreams.length > 0 ? d.upstreams : await this.hostUpstreams();
    return (await this.forward(msg, upstreams)) ?? servfail(msg);
  }

  private async hostUpstreams(): Promise<string[]> {
    const text = await fsp
      .readFile(this.opts.hostResolvConf ?? '/etc/resolv.conf', 'utf8')
      .catch(() => '');
    return nameservers(text);
  }

  /** Ask each upstream in turn (UDP, 2 s each); the first reply is relayed as it came. */
  private async forward(msg: Buffer, upstreams: readonly string[]): Promise<Buffer | undefined> {
    for (const server of upstreams) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const sock = dgram.createSocket('udp4');
        const done = (r: Buffer | undefined): void => {
          clearTimeout(timer);
          sock.close();
          resolve(r);
        };
        const timer = setTimeout(() => done(undefined), FORWARD_TIMEOUT_MS);
        sock.on('error', () => done(undefined));
        sock.on('message', (r, rinfo) => {
          // Only the server asked, with the query's ID, is believed.
          if (
            rinfo.address === server &&
            r.length >= 2 &&
            r.readUInt16BE(0) === msg.readUInt16BE(0)
          )
            done(r);
        });
        sock.send(msg, 53, server, (err) => {
          if (err) done(undefined);
        });
      });
      if (reply) return reply;
    }
    return undefined;
  }

  /** DNS over TCP: two-byte length prefixes, several queries per connection. */
  private serveTcp(sock: net.Socket, local: string): void {
    let buf = Buffer.alloc(0);
    const from = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len > MAX_TCP_MESSAGE) return sock.destroy();
        if (buf.length < 2 + len) return;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.handle(Buffer.from(msg), from, local).then((res) => {
          if (!res || sock.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(res.length);
          sock.write(Buffer.concat([head, res]));
        });
      }
    });
  }
}
