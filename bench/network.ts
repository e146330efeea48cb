/**
 * Issue #5's figures: what bridge networking adds to a container's start, a container-name
 * DNS lookup from another container, and a bulk TCP transfer through a published port
 * (to 127.0.0.1 and to the bridge gateway, both DNATed by the kernel in Wharf's chains)
 * against the same transfer straight to the container's address. Only 127.0.0.1 and
 * addresses on the bench's own bridge are used.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

import { DOCKER, type Engine, median, ROOT, row, RUNS, sample, startWharf } from './engines.js';

const TRANSFER_MB = Number(process.env['BENCH_TRANSFER_MB'] ?? 512);
const LOOKUPS = 200;

function dk(e: Engine, args: string[]): string {
  const r = spawnSync(DOCKER, args, { env: { ...process.env, DOCKER_HOST: `unix://${e.socket}` } });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

/**
 * Sends TRANSFER_MB to host:port and resolves with MB/s once the receiver closes. A refused
 * connect (the sink not listening yet) is retried for a moment.
 */
async function transfer(host: string, port: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await transferOnce(host, port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function transferOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1 << 20);
    let left = TRANSFER_MB;
    const t0 = process.hrtime.bigint();
    const sock = net.connect({ host, port }, () => {
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!sock.write(chunk)) return void sock.once('drain', pump);
        }
        sock.end();
      };
      pump();
    });
    sock.on('error', reject);
    sock.on('close', () => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      resolve(TRANSFER_MB / s);
    });
  });
}

/** A persistent receiver (busybox `nc -ll -e`) that discards what it gets, published on `publish`. */
function startSink(e: Engine, name: string, network: string, publish: string[]): void {
  dk(e, [
    'run',
    '-d',
    '--name',
    name,
    '--network',
    network,
    ...publish.flatMap((p) => ['-p', p]),
    'busybox',
    'sh',
    '-c',
    'nc -ll -p 5000 -e sh -c "cat > /dev/null"',
  ]);
}

/**
 * Median ms of LOOKUPS container-name queries from inside `client`'s network namespace, by a
 * node process nsentered there (no process start per query in the figure).
 */
function lookupMs(e: Engine, client: string, target: string, resolver: string): number {
  const pid = dk(e, ['inspect', '-f', '{{.State.Pid}}', client]);
  const script = `
    const dgram = require('node:dgram');
    const q = (id, name) => {
      const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
      return Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
    };
    const s = dgram.createSocket('udp4');
    const times = [];
    let i = 0, t0 = 0n;
    const next = () => { if (i === ${LOOKUPS}) { s.close(); times.sort((a, b) => a - b); console.log(times[times.length >> 1]); return; }
      t0 = process.hrtime.bigint(); s.send(q(++i, ${JSON.stringify(target)}), 53, ${JSON.stringify(resolver)}); };
    s.on('message', (m) => { if ((m[3] & 15) !== 0) { console.error('rcode ' + (m[3] & 15)); process.exit(1); } times.push(Number(process.hrtime.bigint() - t0) / 1e6); next(); });
    next();`;
  const r = spawnSync('nsenter', ['-t', pid, '-n', process.execPath, '-e', script]);
  if (r.status !== 0) throw new Error(`lookup: ${r.stderr.toString()}`);
  return Number(r.stdout.toString().trim());
}

export async function benchNetwork(base: string): Promise<void> {
  const tar = path.join(base, 'busybox.tar');
  spawnSync('bash', [path.join(ROOT, 'scripts/mkbusybox.sh'), tar], { stdio: 'inherit' });
  const w = await startWharf(base);
  const net0 = 'benchnet';
  try {
    const env = { ...process.env, DOCKER_HOST: `unix://${w.socket}` };
    dk(w, ['import', tar, 'busybox:latest']);
    dk(w, ['network', 'create', '--subnet', '10.213.7.0/24', net0]);
    const none = sample([DOCKER, 'run', '--rm', '--network', 'none', 'busybox', 'true'], env);
    const user = sample([DOCKER, 'run', '--rm', '--network', net0, 'busybox', 'true'], env);

    dk(w, ['run', '-d', '--name', 'bench-target', '--network', net0, 'busybox', 'sleep', '600']);
    dk(w, ['run', '-d', '--name', 'bench-client', '--network', net0, 'busybox', 'sleep', '600']);
    const resolver = dk(w, [
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${net0}").Gateway}}`,
      'bench-client',
    ]);
    const dns = lookupMs(w, 'bench-client', 'bench-target', resolver);

    startSink(w, 'bench-sink', net0, ['127.0.0.1:15000:5000', `${resolver}:15001:5000`]);
    const ip = dk(w, [
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${net0}").IPAddress}}`,
      'bench-sink',
    ]);
    await new Promise((r) => setTimeout(r, 300));
    const runs = Math.max(5, Math.min(RUNS, 9));
    const direct: number[] = [];
    const loop: number[] = [];
    const gw: number[] = [];
    for (let i = 0; i < runs; i++) {
      direct.push(await transfer(ip, 5000));
      loop.push(await transfer('127.0.0.1', 15000));
      gw.push(await transfer(resolver, 15001));
    }
    const d = median(direct);
    // The ratio of each round's pair, then their median: a round is three transfers in a row,
    // so a drift of the machine's speed (this VM's is large) touches both sides alike.
    const pct = (xs: number[]) =>
      `${(median(xs.map((x, i) => x / direct[i]!)) * 100).toFixed(0)}% of direct`;
    console.log(
      `\nmedians; ${LOOKUPS} lookups; ${runs} rounds of transfers of ${TRANSFER_MB} MB (ratios: median of each round's pair)`,
    );
    console.log(row('figure', 'wharfd', '', 'target'));
    console.log(row('run --rm busybox true, --network none', `${none.toFixed(0)} ms`, '', ''));
    console.log(row(`same on a user-defined bridge network`, `${user.toFixed(0)} ms`, '', ''));
    console.log(row('bridge networking adds', `${(user - none).toFixed(0)} ms`, '', '<= 15 ms'));
    console.log(
      row('container-name DNS lookup from a container', `${dns.toFixed(2)} ms`, '', '<= 2 ms'),
    );
    console.log(row('TCP straight to the container address', `${d.toFixed(0)} MB/s`, '', ''));
    console.log(
      row(
        'through a published port on 127.0.0.1',
        `${median(loop).toFixed(0)} MB/s`,
        '',
        `>= 80% (${pct(loop)})`,
      ),
    );
    console.log(
      row(
        'through a published port on the gateway',
        `${median(gw).toFixed(0)} MB/s`,
        '',
        `>= 80% (${pct(gw)})`,
      ),
    );
  } finally {
    spawnSync(DOCKER, ['rm', '-f', 'bench-target', 'bench-client', 'bench-sink'], {
      env: { ...process.env, DOCKER_HOST: `unix://${w.socket}` },
    });
    spawnSync(DOCKER, ['network', 'rm', net0], {
      env: { ...process.env, DOCKER_HOST: `unix://${w.socket}` },
    });
    await w.stop();
  }
}
