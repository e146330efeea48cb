/**
 * A private real Docker engine (Debian's docker.io) for interop tests: its own socket, data
 * root, exec root, pidfile, daemon.json and trust key under temp directories, never the
 * host's /var/run/docker.sock, /var/lib/docker or /etc/docker. (Its containerd still puts
 * shim sockets in /run/containerd/s and dockerd makes /run/docker/plugins: both hard-coded.) With `network: false` (the default) it runs with
 * `--bridge=none --iptables=false --ip-masq=false --ip-forward=false`, so it creates no
 * bridge, touches no firewall chain and no sysctl; its containers run with `--network none`.
 *
 * `stop()` removes its containers, stops it (SIGKILL after a grace period, and then the
 * containerd it spawned, found by the pidfile in our exec root), unmounts whatever it left
 * mounted under its roots and deletes them. A worker that exits without calling `stop()`
 * still kills both processes (the 'exit' hook below).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { DOCKER_CLI, type CliResult } from './daemon.js';

export interface DockerdHandle {
  socket: string;
  base: string;
  execRoot: string;
  proc: ChildProcess;
  /** Run the docker CLI against this engine. */
  cli(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): CliResult;
  /** dockerd's own output so far (for failed tests). */
  output(): string;
  stop(): Promise<void>;
}

/** The dockerd binary, or undefined when Docker is not installed. */
export function dockerdPath(): string | undefined {
  return ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
}

/** dockerd's major version ("Docker version 20.10.24+dfsg1, build …" → 20). */
function dockerdMajor(bin: string): number {
  const out = spawnSync(bin, ['--version']).stdout?.toString() ?? '';
  return Number(/version (\d+)\./.exec(out)?.[1] ?? 0);
}

/** Why interop tests cannot run here, or undefined when they can. */
export function dockerdMissingReason(): string | undefined {
  if (!dockerdPath()) return 'dockerd is not installed (Debian package docker.io)';
  if (!existsSync(DOCKER_CLI)) return `the docker CLI is not at ${DOCKER_CLI}`;
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  return undefined;
}

export async function startDockerd(
  opts: { network?: boolean; experimental?: boolean } = {},
): Promise<DockerdHandle> {
  const bin = dockerdPath();
  if (!bin) throw new Error('dockerd is not installed (Debian package docker.io)');
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-dockerd-'));
  const socket = path.join(base, 'docker.sock');
  // Exec roots hold unix sockets (containerd's among them): keep the path short.
  const execRoot = await fsp.mkdtemp('/run/wharf-dkx-');
  const dataRoot = path.join(base, 'data');
  // Docker before 23 writes a trust key, by default to /etc/docker/key.json: keep it here.
  const daemonJson = {
    ...(dockerdMajor(bin) < 23 ? { 'deprecated-key-path': path.join(base, 'key.json') } : {}),
    // Experimental features (`build --squash` on Docker before 23).
    ...(opts.experimental ? { experimental: true } : {}),
  };
  await fsp.writeFile(path.join(base, 'daemon.json'), JSON.stringify(daemonJson));
  const args = [
    '-H',
    `unix://${socket}`,
    '--data-root',
    dataRoot,
    '--exec-root',
    execRoot,
    '--pidfile',
    path.join(base, 'docker.pid'),
    '--config-file',
    path.join(base, 'daemon.json'),
  ];
  if (!opts.network) {
    args.push('--bridge=none', '--iptables=false', '--ip-masq=false', '--ip-forward=false');
  }
  const logs: Buffer[] = [];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (b: Buffer) => logs.push(b));
  proc.stderr!.on('data', (b: Buffer) => logs.push(b));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;

  // The containerd dockerd spawned (and supervises) records its pid in our exec root.
  const containerdPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(path.join(execRoot, 'containerd', 'containerd.pid'), 'utf8'));
      return Number.isInteger(pid) && pid > 1 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const killAll = (): void => {
    const pid = containerdPid();
    if (running()) proc.kill('SIGKILL');
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killAll);

  const cli = (a: string[], o: { input?: string | Buffer; timeoutMs?: number } = {}) => {
    const r = spawnSync(DOCKER_CLI, a, {
      env: { ...process.env, DOCKER_HOST: `unix://${socket}` },
      input: o.input,
      timeout: o.timeoutMs ?? 60_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    return {
      code: r.status ?? -1,
      stdout: r.stdout?.toString() ?? '',
      stderr: r.stderr?.toString() ?? '',
    };
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      if (running()) {
        const ids = cli(['ps', '-aq']).stdout.split('\n').filter(Boolean);
        if (ids.length > 0) cli(['rm', '-f', ...ids]);
        const ctrd = containerdPid();
        proc.kill('SIGTERM');
        const graceful = await Promise.race([
          exited.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 20_000)),
        ]);
        if (!graceful) killAll();
        await exited;
        // dockerd stops its containerd on a clean exit; make sure of it.
        if (ctrd !== undefined) await waitGone(ctrd);
      }
    } finally {
      killAll();
      process.removeListener('exit', killAll);
      await unmountUnder([base, execRoot]);
      await fsp.rm(base, { recursive: true, force: true }).catch(() => undefined);
      await fsp.rm(execRoot, { recursive: true, force: true }).catch(() => undefined);
    }
  };
  try {
    await waitPing(socket, proc);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${Buffer.concat(logs).toString().slice(-4000)}`, {
      cause: err,
    });
  }
  return {
    socket,
    base,
    execRoot,
    proc,
    cli,
    output: () => Buffer.concat(logs).toString(),
    stop,
  };
}

/** Wait (a bounded time) for a process to be gone; SIGKILL it if it lingers. */
async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** Unmount (lazily, deepest first) everything mounted below `roots`. */
async function unmountUnder(roots: string[]): Promise<void> {
  const mounts = (await fsp.readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => roots.some((r) => m === r || m.startsWith(`${r}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}

/** Wait until an engine answers `/_ping` (or its process exits). */
export async function waitPing(socket: string, proc: ChildProcess, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`engine exited (${proc.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ socketPath: socket, path: '/_ping', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('engine did not come up');
}
