/**
 * A private real Docker engine (Debian's docker.io) for interop tests and the benchmark: its
 * own socket, data root, exec root and pidfile under one temp directory, no daemon.json of
 * the host. With `network: false` (the default for tests) it runs with
 * `--bridge=none --iptables=false --ip-masq=false`, so it creates no bridge and touches no
 * firewall chain: its containers must then run with `--network none`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { DOCKER_CLI, type CliResult } from './daemon.js';

export interface DockerdHandle {
  socket: string;
  base: string;
  proc: ChildProcess;
  /** Run the docker CLI against this engine. */
  cli(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): CliResult;
  stop(): Promise<void>;
}

/** The dockerd binary, or undefined when Docker is not installed. */
export function dockerdPath(): string | undefined {
  return ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
}

export async function startDockerd(
  opts: { network?: boolean; base?: string } = {},
): Promise<DockerdHandle> {
  const bin = dockerdPath();
  if (!bin) throw new Error('dockerd is not installed (Debian package docker.io)');
  const base = opts.base ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-dockerd-')));
  const socket = path.join(base, 'docker.sock');
  // Exec roots hold unix sockets: keep the path short.
  const execRoot = await fsp.mkdtemp('/run/wharf-dkx-');
  await fsp.writeFile(path.join(base, 'daemon.json'), '{}');
  const args = [
    '-H',
    `unix://${socket}`,
    '--data-root',
    path.join(base, 'data'),
    '--exec-root',
    execRoot,
    '--pidfile',
    path.join(base, 'docker.pid'),
    '--config-file',
    path.join(base, 'daemon.json'),
  ];
  if (!opts.network) args.push('--bridge=none', '--iptables=false', '--ip-masq=false');
  const logs: Buffer[] = [];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (b: Buffer) => logs.push(b));
  proc.stderr!.on('data', (b: Buffer) => logs.push(b));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    // dockerd unmounts its overlay layers on shutdown; anything left is below base.
    spawnSync('umount', ['-R', path.join(base, 'data')], { stdio: 'ignore' });
    await fsp.rm(base, { recursive: true, force: true }).catch(() => undefined);
    await fsp.rm(execRoot, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await waitPing(socket, proc);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${Buffer.concat(logs).toString().slice(-4000)}`);
  }
  return {
    socket,
    base,
    proc,
    cli: (a, o = {}) => {
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
    },
    stop,
  };
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
