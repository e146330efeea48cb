/**
 * `npm run bench`: the figures issue #2 names, measured on this machine, side by side with a
 * Docker engine when one is installed (dockerd started on its own socket and data root).
 * Medians of repeated whole-command runs; nothing here is asserted — it prints.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOCKER = process.env['DOCKER_CLI'] ?? '/usr/local/bin/docker';
const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);
const N = Number(process.env['BENCH_CONTAINERS'] ?? 50);

interface Engine {
  name: string;
  socket: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function timeCmd(argv: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

function sample(argv: string[], env: NodeJS.ProcessEnv, runs = RUNS): number {
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

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function pidsOf(name: string): number[] {
  return spawnSync('pgrep', ['-x', name]).stdout.toString().split('\n').filter(Boolean).map(Number);
}

async function startWharf(base: string): Promise<Engine> {
  const socket = path.join(base, 'wharf.sock');
  const proc = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/wharfd'),
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
      for (const [t, c, j] of [
        ['filter', 'FORWARD', 'WHARFBENCH-FORWARD'],
        ['nat', 'POSTROUTING', 'WHARFBENCH-POSTROUTING'],
      ] as const) {
        spawnSync('iptables', ['-t', t, '-D', c, '-j', j]);
        spawnSync('iptables', ['-t', t, '-F', j]);
        spawnSync('iptables', ['-t', t, '-X', j]);
      }
    },
  };
}

async function startDocker(base: string): Promise<Engine | undefined> {
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
  if (!dockerd) return undefined;
  const socket = path.join(base, 'docker.sock');
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
      path.join(base, 'none.json'),
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

interface Figures {
  runNone: number;
  runBridge: number;
  wharfCli?: number;
  start50: number;
  rm50: number;
  perContainerMb: number;
  idleMb: number;
}

async function measure(e: Engine, busyboxTar: string): Promise<Figures> {
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${e.socket}`,
    WHARF_HOST: `unix://${e.socket}`,
  };
  const dk = (...a: string[]) => [DOCKER, ...a];
  spawnSync(DOCKER, ['import', busyboxTar, 'busybox:latest'], { env });
  const idleMb = rssKb(e.proc.pid!) / 1024;
  const runNone = sample(dk('run', '--rm', '--network', 'none', 'busybox', 'true'), env);
  const runBridge = sample(dk('run', '--rm', 'busybox', 'true'), env);
  const wharfCli =
    e.name === 'wharfd'
      ? sample(
          [process.execPath, path.join(ROOT, 'bin/wharf'), 'run', '--rm', 'busybox', 'true'],
          env,
        )
      : undefined;

  // /proc comm is cut to 15 characters: containerd-shim-runc-v2 shows as containerd-shim.
  const monitor = e.name === 'wharfd' ? 'conmon' : 'containerd-shim';
  const before = pidsOf(monitor).reduce((a, p) => a + rssKb(p), 0);
  const engineBefore = rssKb(e.proc.pid!);
  const t0 = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    ids.push(
      spawnSync(DOCKER, ['run', '-d', 'busybox', 'sleep', '600'], { env }).stdout.toString().trim(),
    );
  }
  const start50 = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const after = pidsOf(monitor).reduce((a, p) => a + rssKb(p), 0);
  const engineAfter = rssKb(e.proc.pid!);
  const perContainerMb = (after - before + Math.max(0, engineAfter - engineBefore)) / 1024 / N;
  const t1 = Date.now();
  const r = spawnSync(DOCKER, ['rm', '-f', ...ids], { env });
  if (r.status !== 0) throw new Error(`rm -f: ${r.stderr}`);
  const rm50 = (Date.now() - t1) / 1000;
  return { runNone, runBridge, wharfCli, start50, rm50, perContainerMb, idleMb };
}

function row(label: string, w: string, d?: string, target?: string): string {
  return `${label.padEnd(52)} ${w.padStart(10)} ${(d ?? '-').padStart(10)}   ${target ?? ''}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench must run as root');
  const base = path.join(os.tmpdir(), `wharf-bench-${process.pid}`);
  mkdirSync(base, { recursive: true });
  // An empty daemon.json: neither engine may pick up the host's configuration.
  writeFileSync(path.join(base, 'none.json'), '{}\n');
  const tar = path.join(base, 'busybox.tar');
  spawnSync('bash', [path.join(ROOT, 'scripts/mkbusybox.sh'), tar], { stdio: 'inherit' });
  const engines: Engine[] = [];
  try {
    const w = await startWharf(base);
    engines.push(w);
    const wf = await measure(w, tar);
    const d = await startDocker(base).catch((err) => {
      console.error(`(no Docker comparison: ${(err as Error).message})`);
      return undefined;
    });
    if (d) engines.push(d);
    const df = d ? await measure(d, tar) : undefined;
    const ms = (x?: number) => (x === undefined ? undefined : `${x.toFixed(0)} ms`);
    const s = (x?: number) => (x === undefined ? undefined : `${x.toFixed(2)} s`);
    const mb = (x?: number) => (x === undefined ? undefined : `${x.toFixed(1)} MB`);
    console.log(
      `\nmedians of ${RUNS} runs; ${N} containers for the bulk figures; ${os.cpus().length} cores`,
    );
    console.log(row('figure', 'wharfd', d ? 'dockerd' : 'dockerd', 'target'));
    console.log(
      row(
        'docker run --rm busybox true (--network none)',
        ms(wf.runNone)!,
        ms(df?.runNone),
        '<= 60 ms',
      ),
    );
    console.log(
      row(
        'docker run --rm busybox true (default bridge)',
        ms(wf.runBridge)!,
        ms(df?.runBridge),
        '<= 80 ms',
      ),
    );
    console.log(
      row('wharf run --rm busybox true (default bridge)', ms(wf.wharfCli)!, undefined, '<= 130 ms'),
    );
    console.log(
      row(`${N} x docker run -d busybox sleep 600`, s(wf.start50)!, s(df?.start50), '<= 4 s'),
    );
    console.log(row(`docker rm -f of all ${N}`, s(wf.rm50)!, s(df?.rm50), '<= 1.5 s'));
    console.log(
      row(
        'engine memory per running container',
        mb(wf.perContainerMb)!,
        mb(df?.perContainerMb),
        '<= 3 MB',
      ),
    );
    console.log(row('engine idle RSS', mb(wf.idleMb)!, mb(df?.idleMb), '<= 80 MB'));
  } finally {
    for (const e of engines) await e.stop().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
