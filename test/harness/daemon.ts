/**
 * Starts a real wharfd for one integration test file: its own socket, data root, exec root,
 * bridge, subnet and firewall chain prefix, so runs never collide with each other or with a
 * Docker engine on the host. `stop()` removes every container, the bridge and the chains.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, promises as fsp, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Docker from 'dockerode';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DOCKER_CLI = process.env['DOCKER_CLI'] ?? '/usr/local/bin/docker';

export interface DaemonHandle {
  name: string;
  socket: string;
  dataRoot: string;
  execRoot: string;
  bridge: string;
  bip: string;
  chainPrefix: string;
  process: ChildProcess;
  /** Whether the daemon process is running. */
  alive: boolean;
  docker: Docker;
  /** Run the docker CLI against this daemon. */
  cli(
    args: string[],
    opts?: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv },
  ): CliResult;
  /** Run `wharf` against this daemon. */
  wharf(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): CliResult;
  /** The daemon's own output so far (for debugging failed tests). */
  output(): string;
  /** SIGKILL the daemon (containers keep running) — restart with `restart()`. */
  crash(): Promise<void>;
  /** Start the daemon again, after stopping it with SIGTERM if it still runs. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(
  bin: string[],
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string | Buffer,
  timeoutMs = 30_000,
): CliResult {
  const r = spawnSync(bin[0]!, [...bin.slice(1), ...args], {
    env,
    input,
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout?.toString() ?? '',
    stderr: r.stderr?.toString() ?? '',
  };
}

/** Subnets handed out by this process, so two calls never return the same one. */
const handedOut = new Set<string>();

/** A /24 in 10.0.0.0/8 that no route on the host overlaps. */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all']).stdout.toString();
  for (let i = 0; i < 100; i++) {
    const a = 100 + Math.floor(Math.random() * 150);
    const b = Math.floor(Math.random() * 255);
    const key = `10.${a}.${b}.`;
    if (!routes.includes(key) && !handedOut.has(key)) {
      handedOut.add(key);
      return `10.${a}.${b}.1/24`;
    }
  }
  throw new Error('no free test subnet');
}

/**
 * A unique /24 for a user-defined network in a test ("10.a.b.0/24"), and helpers for
 * addresses in it: `ip(n)` is 10.a.b.n.
 */
export function uniqueSubnet(): { subnet: string; gateway: string; ip: (n: number) => string } {
  const base = freeSubnet().replace(/\.1\/24$/, '');
  return { subnet: `${base}.0/24`, gateway: `${base}.1`, ip: (n) => `${base}.${n}` };
}

/** v6 prefixes handed out by this process. */
const handedOut6 = new Set<string>();

/**
 * A unique-local /64 no route on the host overlaps ("fdXX:XXXX:XXXX:XXXX::/64", random), for
 * a test's `fixed-cidr-v6` or `--ipv6 --subnet`; `ip(n)` is the address `<prefix>::n` (hex).
 */
export function uniqueSubnet6(): { subnet: string; gateway: string; ip: (n: number) => string } {
  const routes = spawnSync('ip', ['-6', 'route', 'show', 'table', 'all']).stdout.toString();
  for (let i = 0; i < 100; i++) {
    const b = randomBytes(7);
    const groups = [
      `fd${b[0]!.toString(16).padStart(2, '0')}`,
      b.readUInt16BE(1).toString(16),
      b.readUInt16BE(3).toString(16),
      b.readUInt16BE(5).toString(16),
    ];
    const prefix = groups.join(':');
    // A zero group could be shown compressed (`fdXX::…`): keep the text predictable.
    if (groups.includes('0')) continue;
    if (routes.includes(`${prefix}:`) || handedOut6.has(prefix)) continue;
    handedOut6.add(prefix);
    return {
      subnet: `${prefix}::/64`,
      gateway: `${prefix}::1`,
      ip: (n) => `${prefix}::${n.toString(16)}`,
    };
  }
  throw new Error('no free test v6 subnet');
}

async function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      // No keep-alive: a pooled socket the daemon closes while a test blocks in spawnSync
      // would be reused by the next request on the global agent (dockerode) and fail EPIPE.
      { socketPath: socket, path: '/_ping', method: 'GET', timeout: 1000, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

let busyboxTar: string | undefined;

/** The busybox rootfs tar made from Debian's busybox-static (cached for the run). */
export function busyboxRootfsTar(): string {
  if (busyboxTar && existsSync(busyboxTar)) return busyboxTar;
  const dir = path.join(os.tmpdir(), 'wharf-test-fixtures');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `busybox-${process.pid}.tar`);
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/mkbusybox.sh'), out]);
  if (r.status !== 0) throw new Error(`mkbusybox failed: ${r.stderr}`);
  busyboxTar = out;
  // One per test process; gone when the process ends.
  process.once('exit', () => rmSync(out, { force: true }));
  return out;
}

export async function startDaemon(
  opts: {
    withBusybox?: boolean;
    daemonJson?: Record<string, unknown>;
    /** Keep the data root on a tmpfs of this size (`64m`): a small disk to fill. */
    dataRootTmpfs?: string;
    /** Extra environment of the daemon (test switches such as WHARF_TEST_BOOT_ID_FILE). */
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<DaemonHandle> {
  const name = `wt${randomBytes(3).toString('hex')}`;
  const base = path.join(os.tmpdir(), `wharf-it-${name}`);
  const dataRoot = path.join(base, 'data');
  const execRoot = `/run/wharf-it-${name}`;
  const socket = path.join(base, 'wharf.sock');
  const bridge = `${name}br`;
  const bip = freeSubnet();
  const chainPrefix = `W${name.toUpperCase()}`;
  await fsp.mkdir(base, { recursive: true });
  await fsp.writeFile(path.join(base, 'daemon.json'), JSON.stringify(opts.daemonJson ?? {}));
  if (opts.dataRootTmpfs) {
    // Unmounted by stop() with everything else under the data root.
    await fsp.mkdir(dataRoot, { recursive: true });
    const m = spawnSync('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=${opts.dataRootTmpfs}`,
      'tmpfs',
      dataRoot,
    ]);
    if (m.status !== 0) throw new Error(`mounting a tmpfs data root: ${m.stderr}`);
  }
  const logs: Buffer[] = [];
  // bin/wharfd is run as the program it is (its shebang carries node's flags).
  const args = [
    '-H',
    `unix://${socket}`,
    '--data-root',
    dataRoot,
    '--exec-root',
    execRoot,
    '--config-file',
    path.join(base, 'daemon.json'),
    '--bridge',
    bridge,
    '--bip',
    bip,
    '--chain-prefix',
    chainPrefix,
    '--log-level',
    process.env['WHARF_TEST_LOG_LEVEL'] ?? 'info',
  ];
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, WHARF_HOST: `unix://${socket}` };
  let child!: ChildProcess;
  let alive = false;
  let exitedPromise: Promise<void> = Promise.resolve();
  const launch = async (): Promise<void> => {
    child = spawn(path.join(ROOT, 'bin/wharfd'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
    alive = true;
    exitedPromise = new Promise((r) =>
      child.once('exit', () => {
        alive = false;
        r();
      }),
    );
    child.stdout!.on('data', (b: Buffer) => logs.push(b));
    child.stderr!.on('data', (b: Buffer) => logs.push(b));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (!alive) throw new Error(`wharfd exited: ${Buffer.concat(logs).toString()}`);
      // The answer must come from this process (it still runs after the ping).
      if ((await ping(socket)) && alive) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`wharfd did not answer /_ping: ${Buffer.concat(logs).toString()}`);
  };
  try {
    await launch();
  } catch (err) {
    // Leave nothing behind when the daemon could not start.
    if (alive) child.kill('SIGKILL');
    await fsp.rm(base, { recursive: true, force: true });
    throw err;
  }
  const exited = (): Promise<void> => exitedPromise;

  const handle: DaemonHandle = {
    name,
    socket,
    dataRoot,
    execRoot,
    bridge,
    bip,
    chainPrefix,
    get process() {
      return child;
    },
    get alive() {
      return alive;
    },
    docker: new Docker({ socketPath: socket }),
    cli: (a, o = {}) => runCli([DOCKER_CLI], a, { ...env, ...o.env }, o.input, o.timeoutMs),
    wharf: (a, o = {}) => runCli([path.join(ROOT, 'bin/wharf')], a, env, o.input, o.timeoutMs),
    output: () => Buffer.concat(logs).toString(),
    crash: async () => {
      child.kill('SIGKILL');
      await exited();
    },
    restart: async () => {
      // A restart of a running daemon stops it first: launching beside it would find the
      // old one answering on the socket (and the new one refused the data root).
      if (alive) {
        child.kill('SIGTERM');
        await exited();
      }
      await launch();
    },
    stop: async () => {
      try {
        if (alive) {
          const list = await handle.docker.listContainers({ all: true }).catch(() => []);
          await Promise.all(
            list.map((c) =>
              handle.docker
                .getContainer(c.Id)
                .remove({ force: true })
                .catch(() => undefined),
            ),
          );
          child.kill('SIGTERM');
          await exited();
        }
      } finally {
        await cleanupHost(handle);
        await fsp.rm(base, { recursive: true, force: true }).catch(() => undefined);
      }
    },
  };
  if (opts.withBusybox !== false) {
    const r = handle.cli(['import', '-c', 'CMD ["sh"]', busyboxRootfsTar(), 'busybox:latest']);
    if (r.code !== 0) throw new Error(`importing busybox failed: ${r.stderr}\n${handle.output()}`);
  }
  return handle;
}

/** Remove what a test daemon left on the host: runc containers, mounts, netns, bridge, chains. */
async function cleanupHost(h: DaemonHandle): Promise<void> {
  const runcRoot = path.join(h.execRoot, 'runc');
  if (existsSync(runcRoot)) {
    const list = spawnSync('runc', ['--root', runcRoot, 'list', '-q'])
      .stdout.toString()
      .split('\n')
      .filter(Boolean);
    for (const id of list) spawnSync('runc', ['--root', runcRoot, 'delete', '-f', id]);
  }
  // Unmount anything still mounted under our roots (deepest first).
  const mounts = (await fsp.readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(h.execRoot) || m.startsWith(h.dataRoot))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  spawnSync('ip', ['link', 'del', h.bridge]);
  // Bridges of user-defined networks the test left (their records name them).
  const netDir = path.join(h.dataRoot, 'network', 'networks');
  for (const f of existsSync(netDir) ? await fsp.readdir(netDir) : []) {
    const rec = JSON.parse(await fsp.readFile(path.join(netDir, f), 'utf8').catch(() => '{}')) as {
      user?: unknown;
      bridgeName?: string;
    };
    if (rec.user && rec.bridgeName) spawnSync('ip', ['link', 'del', rec.bridgeName]);
  }
  for (const [bin, table] of [
    ['iptables', 'filter'],
    ['iptables', 'nat'],
    // Dual-stack networks' chains (filter only).
    ['ip6tables', 'filter'],
  ] as const) {
    const rules = spawnSync(bin, ['-t', table, '-S']).stdout.toString().split('\n');
    for (const rule of rules) {
      if (rule.startsWith('-A ') && rule.includes(`-j ${h.chainPrefix}-`)) {
        spawnSync(bin, ['-t', table, ...rule.replace(/^-A /, '-D ').split(' ')]);
      }
    }
    for (const rule of rules) {
      const m = /^-N (\S+)/.exec(rule);
      if (m && m[1]!.startsWith(`${h.chainPrefix}-`)) {
        spawnSync(bin, ['-t', table, '-F', m[1]!]);
        spawnSync(bin, ['-t', table, '-X', m[1]!]);
      }
    }
  }
  await fsp.rm(h.execRoot, { recursive: true, force: true }).catch(() => undefined);
}

/** Poll until `fn` returns a truthy value (no fixed sleeps in tests). */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
