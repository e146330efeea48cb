/**
 * Issue #3's figures: a 200 MB image in 5 layers (4 random, 1 compressible) pulled from a
 * local registry into an empty store by wharfd and by dockerd, wharfd's peak RSS meanwhile,
 * and `wharf registry` against Debian's docker-registry with the docker CLI as client.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import {
  fileTar,
  freePort,
  makeOciLayout,
  skopeoCopy,
  startRegistry,
  type RegistryHandle,
} from '../test/integration/pull/registry.js';
import { DOCKER, type Engine, median, ROOT, row, startDocker, startWharf } from './engines.js';

const PULL_RUNS = Number(process.env['BENCH_PULL_RUNS'] ?? 5);
const LAYER_MB = 40;

function compressible(bytes: number): Buffer {
  const line = Buffer.from('wharf benchmark: a compressible log line with some words in it\n');
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += line.length) line.copy(out, i);
  return out;
}

function timed(argv: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const envFor = (e: Engine): NodeJS.ProcessEnv => ({
  ...process.env,
  DOCKER_HOST: `unix://${e.socket}`,
});

/** VmHWM since the last reset (writing 5 to clear_refs resets the peak). */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
function peakMb(pid: number): number {
  return (
    Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  );
}

/** CPU seconds of a process and its reaped children (tar, sync), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] is field 3.
  return fields.slice(11, 15).reduce((t, f) => t + Number(f), 0) / 100;
}

/** One pull of `ref` into an empty store (the image and its layers removed after). */
function pullOnce(e: Engine, ref: string, peak?: number[], cpu?: number[]): number {
  const env = envFor(e);
  if (peak) resetPeak(e.proc.pid!);
  const c0 = cpu ? cpuSeconds(e.proc.pid!) : 0;
  const ms = timed([DOCKER, 'pull', '-q', ref], env);
  if (cpu) cpu.push(cpuSeconds(e.proc.pid!) - c0);
  if (peak) peak.push(peakMb(e.proc.pid!));
  timed([DOCKER, 'rmi', ref], env);
  return ms;
}

interface Registry {
  host: string;
  pid: number;
  stop(): Promise<void>;
}

/** `wharf registry serve` on a free port; resolves once it answers /v2/. */
async function startWharfRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  const proc = spawn(
    path.join(ROOT, 'bin/wharf'),
    ['registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', dir],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = spawnSync('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/v2/`]);
    if (r.status === 0) break;
    if (Date.now() > deadline || proc.exitCode !== null)
      throw new Error('wharf registry did not start');
    await new Promise((res) => setTimeout(res, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    pid: proc.pid!,
    stop: async () => {
      proc.kill('SIGTERM');
      if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
    },
  };
}

/**
 * One push then pull of the image through `client`, against a registry started empty (a
 * registry that saw the blobs before would let the push skip or mount them).
 */
/** Times (ms) and the registry's CPU seconds for one push and one pull. */
interface Round {
  push: number;
  pull: number;
  pushCpu: number;
  pullCpu: number;
}

async function pushPull(
  client: Engine,
  src: string,
  start: () => Promise<Registry>,
  round: number,
): Promise<Round> {
  const env = envFor(client);
  const reg = await start();
  try {
    const ref = `${reg.host}/bench/roundtrip:r${round}`;
    timed([DOCKER, 'tag', src, ref], env);
    const c0 = cpuSeconds(reg.pid);
    const push = timed([DOCKER, 'push', '-q', ref], env);
    const c1 = cpuSeconds(reg.pid);
    timed([DOCKER, 'rmi', ref], env);
    timed([DOCKER, 'rmi', src], env); // its layers go: the pull downloads them again
    const pull = timed([DOCKER, 'pull', '-q', ref], env);
    const c2 = cpuSeconds(reg.pid);
    timed([DOCKER, 'tag', ref, src], env);
    timed([DOCKER, 'rmi', ref], env);
    return { push, pull, pushCpu: c1 - c0, pullCpu: c2 - c1 };
  } finally {
    await reg.stop();
  }
}

export async function benchPull(base: string): Promise<void> {
  if (!existsSync('/usr/bin/docker-registry') || !existsSync('/usr/bin/skopeo')) {
    console.log('(skipped: needs docker-registry and skopeo; scripts/setup.sh installs them)');
    return;
  }
  const layers = [
    ...Array.from({ length: 4 }, (_, i) =>
      fileTar({ [`random${i}`]: randomBytes(LAYER_MB << 20) }),
    ),
    fileTar({ text: compressible(LAYER_MB << 20) }),
  ];
  const layout = path.join(base, 'layout');
  await makeOciLayout(layout, 'bench', [{ layers, compression: 'gzip', cmd: ['true'] }]);
  const stops: Array<() => Promise<void>> = [];
  let reg: RegistryHandle | undefined;
  try {
    reg = await startRegistry();
    stops.push(reg.stop);
    const ref = `${reg.host}/bench/pull:200m`;
    skopeoCopy(layout, 'bench', ref);

    const w = await startWharf(base);
    stops.push(w.stop);
    const d = await startDocker(base).catch((err) => {
      console.error(`(no Docker comparison: ${(err as Error).message})`);
      return undefined;
    });
    if (d) stops.push(d.stop);
    // Interleaved, so a change in the machine's load hits both engines alike.
    const wPeak: number[] = [];
    const wCpu: number[] = [];
    const wTimes: number[] = [];
    const dTimes: number[] = [];
    for (let i = 0; i < PULL_RUNS; i++) {
      wTimes.push(pullOnce(w, ref, wPeak, wCpu));
      if (d) dTimes.push(pullOnce(d, ref));
    }
    const wPull = median(wTimes);
    const dPull = d ? median(dTimes) : undefined;

    const mb = 200;
    const s = (ms?: number) => (ms === undefined ? undefined : `${(ms / 1000).toFixed(2)} s`);
    const rate = (ms: number) => `${((mb / ms) * 1000).toFixed(0)} MB/s`;
    console.log(`\nmedians of ${PULL_RUNS} runs; ${mb} MB image in 5 gzip layers`);
    console.log(row('figure', 'wharfd', 'dockerd', 'target'));
    console.log(
      row(
        'pull into an empty store (docker-registry)',
        s(wPull)!,
        s(dPull),
        dPull ? `dockerd/wharfd = ${(dPull / wPull).toFixed(2)}x (>= 1.5x)` : '>= 1.5x dockerd',
      ),
    );
    console.log(
      row(
        'wharfd CPU per pull (with its tar and sync children)',
        s(median(wCpu) * 1000)!,
        undefined,
        '',
      ),
    );
    console.log(
      row(
        'wharfd peak RSS during the pull',
        `${Math.max(...wPeak).toFixed(0)} MB`,
        undefined,
        '<= 150 MB',
      ),
    );
    if (process.env['BENCH_PULL_ROUNDTRIP'] === '0') return;
    // Registry throughput: the docker CLI through dockerd when there is one (the reference
    // client), else through wharfd.
    const client = d ?? w;
    timed([DOCKER, 'pull', '-q', ref], envFor(client));
    // Rounds alternate between the registries (and which goes first), as the pulls above do:
    // this disk slows down under sustained writes, and back-to-back series would blame one.
    const wharfRounds: Round[] = [];
    const distRounds: Round[] = [];
    for (let i = 0; i < PULL_RUNS; i++) {
      const viaWharf = () =>
        pushPull(client, ref, () => startWharfRegistry(path.join(base, `wharf-registry-${i}`)), i);
      const viaDist = () => pushPull(client, ref, () => startRegistry(), i);
      if (i % 2 === 0) {
        wharfRounds.push(await viaWharf());
        distRounds.push(await viaDist());
      } else {
        distRounds.push(await viaDist());
        wharfRounds.push(await viaWharf());
      }
    }
    const medians = (rounds: Round[]): Round & { both: number } => ({
      push: median(rounds.map((r) => r.push)),
      pull: median(rounds.map((r) => r.pull)),
      both: median(rounds.map((r) => r.push + r.pull)),
      pushCpu: median(rounds.map((r) => r.pushCpu)),
      pullCpu: median(rounds.map((r) => r.pullCpu)),
    });
    const viaWharf = medians(wharfRounds);
    const viaDist = medians(distRounds);

    console.log(`\nregistry round trip, docker CLI through ${client.name}`);
    console.log(row('figure', 'wharf reg', 'dist 2.8', 'target'));
    console.log(
      row('push (new repository)', rate(viaWharf.push), rate(viaDist.push), 'wharf >= dist'),
    );
    console.log(
      row('pull (empty store)', rate(viaWharf.pull), rate(viaDist.pull), 'wharf >= dist'),
    );
    // The image crosses twice: 2 x 200 MB over the push and the pull together.
    const twice = (ms: number) => rate(ms / 2);
    console.log(
      row(
        'push + pull (one after the other)',
        twice(viaWharf.both),
        twice(viaDist.both),
        'wharf >= dist',
      ),
    );
    const cpu = (s: number) => `${s.toFixed(2)} s`;
    console.log(row('registry CPU per push', cpu(viaWharf.pushCpu), cpu(viaDist.pushCpu), ''));
    console.log(row('registry CPU per pull', cpu(viaWharf.pullCpu), cpu(viaDist.pullCpu), ''));
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
