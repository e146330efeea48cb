import dgram from 'node:dgram';
import { promises as fsp } from 'node:fs';
import net from 'node:net';

import { errorMessage, type Logger } from '../common/index.js';
import { decide, nameservers, servfail, type DnsNetwork } from './dns-answer.js';

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
  private readonly listeners = new Map<string, { udp: dgram.Socket; tcp: net.Server }>();

  constructor(private readonly opts: EmbeddedDnsOptions) {}

  /** Listen on `gateway`:53 (idempotent). A failure is logged: DNS is lost, not the network. */
  async listen(gateway: string): Promise<void> {
    if (this.listeners.has(gateway)) return;
    const udp = dgram.createSocket({ type: 'udp4' });
    const tcp = net.createServer((sock) => this.serveTcp(sock, gateway));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: gateway, port: 53, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: gateway, port: 53, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      tcp.close();
      this.opts.logger.warn({ gateway, err: errorMessage(err) }, 'embedded DNS not listening');
      return;
    }
    udp.on('error', (err) => this.opts.logger.warn({ gateway, err: errorMessage(err) }, 'dns'));
    udp.on('message', (msg, rinfo) => {
      void this.handle(msg, rinfo.address, gateway).then((res) => {
        if (res) udp.send(res, rinfo.port, rinfo.address);
      });
    });
    this.listeners.set(gateway, { udp, tcp });
  }

  async unlisten(gateway: string): Promise<void> {
    const l = this.listeners.get(gateway);
    if (!l) return;
    this.listeners.delete(gateway);
    l.udp.close();
    await new Promise<void>((r) => l.tcp.close(() => r()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((g) => this.unlisten(g)));
  }

  private async handle(msg: Buffer, from: string, local: string): Promise<Buffer | undefined> {
    const d = decide(msg, from, local, this.opts.networks());
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
