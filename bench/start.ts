/**
 * Issue #2's figures (container start and removal, engine memory), side by side with dockerd.
 * Medians of repeated whole-command runs; nothing here is asserted — it prints.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

import {
  DOCKER,
  type Engine,
  pidsOf,
  ROOT,
  row,
  rssKb,
  RUNS,
  sample,
  startDocker,
  startWharf,
} from './engines.js';

const N = Number(process.env['BENCH_CONTAINERS'] ?? 50);

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
      ? sample([path.join(ROOT, 'bin/wharf'), 'run', '--rm', 'busybox', 'true'], env)
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

/** Issue #2's figures: container start, bulk start and removal, memory. */
export async function benchStart(base: string): Promise<void> {
  const tar = path.join(base, 'busybox.tar');
  spawnSync('bash', [path.join(ROOT, 'scripts/mkbusybox.sh'), tar], { stdio: 'inherit' });
  const engines: Engine[] = [];
  try {
    const w = await startWharf(base);
    engines.push(w);
    const wf = await measure(w, tar);
    const d = await startDocker(base, { network: true }).catch((err) => {
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
  }
}
