/**
 * What the benchmarks share: the two engines, each started on its own socket and data root
 * (wharfd always, dockerd when installed), and whole-command timing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DOCKER = process.env['DOCKER_CLI'] ?? '/usr/local/bin/docker';
export const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);

export interface Engine {
  name: string;
  socket: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function timeCmd(argv: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

export function sample(argv: string[], env: NodeJS.ProcessEnv, runs = RUNS): number {
  timeCmd(argv, env); // warm-up
  return median(Array.from({ length: runs }, () => timeCmd(argv, env)));
}

async function waitPing(socket: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`engine exited (${proc.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ socketPath: socket, path: '/_ping' }, (res) => {
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

export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export function pidsOf(name: string): number[] {
  return spawnSync('pgrep', ['-x', name]).stdout.toString().split('\n').filter(Boolean).map(Number);
}

export async function startWharf(base: string): Promise<Engine> {
  const socket = path.join(base, 'wharf.sock');
  // bin/wharfd runs as the program it is: its shebang carries node's flags.
  const proc = spawn(
    path.join(ROOT, 'bin/wharfd'),
    [
      '-H',
      `unix://${socket}`,
      '--data-root',
      path.join(base, 'data'),
      '--exec-root',
      '/run/wharf-bench',
      '--bridge',
      'wharfbench0',
      '--bip',
      '10.211.0.1/16',
      '--chain-prefix',
      'WHARFBENCH',
      '--config-file',
      path.join(base, 'none.json'),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitPing(socket, proc);
  return {
    name: 'wharfd',
    socket,
    proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      spawnSync('ip', ['link', 'del', 'wharfbench0']);
      // The exec root holds a bind mount (netns/): unmount before removing it.
      spawnSync('umount', ['-l', '/run/wharf-bench/netns']);
      rmSync('/run/wharf-bench', { recursive: true, force: true });
      removeChains('WHARFBENCH');
    },
  };
}

/**
 * dockerd on its own socket and roots. Without `network` (benchmarks that need no bridge) it
 * makes no bridge and touches no firewall chain, as the interop tests' dockerd.
 */
export async function startDocker(
  base: string,
  opts: { network?: boolean } = {},
): Promise<Engine | undefined> {
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
  if (!dockerd) return undefined;
  const socket = path.join(base, 'docker.sock');
  // dockerd before 23 writes a trust key, by default to /etc/docker/key.json: keep it here.
  const major = Number(
    /version (\d+)\./.exec(spawnSync(dockerd, ['--version']).stdout.toString())?.[1],
  );
  writeFileSync(
    path.join(base, 'docker.json'),
    JSON.stringify(major < 23 ? { 'deprecated-key-path': path.join(base, 'docker-key.json') } : {}),
  );
  const proc = spawn(
    dockerd,
    [
      '-H',
      `unix://${socket}`,
      '--data-root',
      path.join(base, 'docker-data'),
      '--exec-root',
      path.join(base, 'docker-exec'),
      '--pidfile',
      path.join(base, 'docker.pid'),
      '--config-file',
      path.join(base, 'docker.json'),
      ...(opts.network ? [] : ['--bridge=none', '--iptables=false', '--ip-masq=false']),
    ],
    { stdio: 'ignore' },
  );
  await waitPing(socket, proc);
  return {
    name: 'dockerd',
    socket,
    proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

export function row(label: string, w: string, d?: string, target?: string): string {
  return `${label.padEnd(52)} ${w.padStart(10)} ${(d ?? '-').padStart(10)}   ${target ?? ''}`;
}

/**
 * Delete every iptables chain named `<prefix>-…` (the bench daemon's) and the rules that
 * jump to them, in the filter and nat tables; nothing else is touched.
 */
export function removeChains(prefix: string): void {
  for (const table of ['filter', 'nat']) {
    const rules = spawnSync('iptables', ['-t', table, '-S']).stdout.toString().split('\n');
    for (const rule of rules) {
      if (
        rule.startsWith('-A ') &&
        rule.includes(`-j ${prefix}-`) &&
        !rule.startsWith(`-A ${prefix}-`)
      ) {
        spawnSync('iptables', ['-t', table, ...rule.replace(/^-A /, '-D ').split(' ')]);
      }
    }
    for (const rule of rules) {
      const chain = /^-N (\S+)$/.exec(rule)?.[1];
      if (chain?.startsWith(`${prefix}-`)) spawnSync('iptables', ['-t', table, '-F', chain]);
    }
    for (const rule of rules) {
      const chain = /^-N (\S+)$/.exec(rule)?.[1];
      if (chain?.startsWith(`${prefix}-`)) spawnSync('iptables', ['-t', table, '-X', chain]);
    }
  }
}
