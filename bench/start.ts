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
  median,
  pidsOf,
  ROOT,
  row,
  rssKb,
  RUNS,
  sample,
  startDocker,
  timeCmd,
  startWharf,
} from './engines.js';

const N = Number(process.env['BENCH_CONTAINERS'] ?? 50);

interface Figures {
  runNone: number;
  runBridge: number;
  /** The same back to back: each run right after the last, on one engine. */
  seriesNone: number;
  seriesBridge: number;
  wharfCli?: number;
  start50: number;
  rm50: number;
  perContainerMb: number;
  idleMb: number;
}

const envOf = (e: Engine): NodeJS.ProcessEnv => ({
  ...process.env,
  DOCKER_HOST: `unix://${e.socket}`,
  WHARF_HOST: `unix://${e.socket}`,
});

/** Times of one command on each engine, run in turn (A B B A …, after a warm-up each). */
function paired(argv: string[], engines: Engine[]): number[][] {
  for (const e of engines) timeCmd(argv, envOf(e));
  const times = engines.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    // Which goes first alternates too: a run can be slowed by the one just before it.
    const order = i % 2 ? [...engines.keys()].reverse() : [...engines.keys()];
    for (const k of order) {
      // Each run alone: what an engine still does after its client has exited (dockerd's
      // shim and task teardown, wharfd's spare task) does not land on the other's run.
      spawnSync('sleep', ['0.1']);
      times[k]!.push(timeCmd(argv, envOf(engines[k]!)));
    }
  }
  return times;
}

/** The bulk figures and memory, one engine at a time. */
async function measure(e: Engine): Promise<Omit<Figures, 'runNone' | 'runBridge' | 'idleMb'>> {
  const env = envOf(e);
  const seriesNone = sample([DOCKER, 'run', '--rm', '--network', 'none', 'busybox', 'true'], env);
  const seriesBridge = sample([DOCKER, 'run', '--rm', 'busybox', 'true'], env);
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
  return { seriesNone, seriesBridge, wharfCli, start50, rm50, perContainerMb };
}

/** Issue #2's figures: container start, bulk start and removal, memory. */
export async function benchStart(base: string): Promise<void> {
  const tar = path.join(base, 'busybox.tar');
  spawnSync('bash', [path.join(ROOT, 'scripts/mkbusybox.sh'), tar], { stdio: 'inherit' });
  const engines: Engine[] = [];
  try {
    const w = await startWharf(base);
    engines.push(w);
    const d = await startDocker(base, { network: true }).catch((err) => {
      console.error(`(no Docker comparison: ${(err as Error).message})`);
      return undefined;
    });
    if (d) engines.push(d);
    const idle = engines.map((e) => rssKb(e.proc.pid!) / 1024);
    for (const e of engines)
      spawnSync(DOCKER, ['import', tar, 'busybox:latest'], { env: envOf(e) });
    // One container at a time, on the two engines in turn: the machine's speed drifts (these
    // are shared VMs), and a drift then slows both alike.
    const none = paired([DOCKER, 'run', '--rm', '--network', 'none', 'busybox', 'true'], engines);
    const bridge = paired([DOCKER, 'run', '--rm', 'busybox', 'true'], engines);
    const wf: Figures = {
      runNone: median(none[0]!),
      runBridge: median(bridge[0]!),
      idleMb: idle[0]!,
      ...(await measure(w)),
    };
    const df: Figures | undefined = d
      ? {
          runNone: median(none[1]!),
          runBridge: median(bridge[1]!),
          idleMb: idle[1]!,
          ...(await measure(d)),
        }
      : undefined;
    const ms = (x?: number) => (x === undefined ? undefined : `${x.toFixed(0)} ms`);
    const s = (x?: number) => (x === undefined ? undefined : `${x.toFixed(2)} s`);
    const mb = (x?: number) => (x === undefined ? undefined : `${x.toFixed(1)} MB`);
    // The targets were set where dockerd took 223 and 291 ms: the median of the
    // paired ratios, times those, is the figure at that machine speed.
    const atReference = (t: number[][], ref: number) =>
      t[1] ? ms(median(t[0]!.map((x, i) => x / t[1]![i]!)) * ref) : undefined;
    console.log(
      `\nmedians of ${RUNS} runs; ${N} containers for the bulk figures; ${os.cpus().length} cores`,
    );
    console.log(
      'docker run: one at a time, 100 ms apart, wharfd and dockerd in turn; then back to back',
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
    if (d) {
      console.log(
        row('  the same where dockerd takes 223 ms (none)', atReference(none, 223)!, '223 ms', ''),
      );
      console.log(
        row(
          '  the same where dockerd takes 291 ms (bridge)',
          atReference(bridge, 291)!,
          '291 ms',
          '',
        ),
      );
    }
    console.log(row('  back to back, --network none', ms(wf.seriesNone)!, ms(df?.seriesNone), ''));
    console.log(
      row('  back to back, default bridge', ms(wf.seriesBridge)!, ms(df?.seriesBridge), ''),
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
