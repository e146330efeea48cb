/**
 * Issue #4's figures: a small realistic app built cold, rebuilt with nothing changed and after
 * one source file changed; a context of 2,000 small files; a 200 MB context (the daemon's RSS
 * growth while it streams in). The docker CLI's classic builder (DOCKER_BUILDKIT=0) drives
 * wharfd and, when installed, dockerd; RUN steps use --network none on both.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { DOCKER, type Engine, median, ROOT, row, startDocker, startWharf } from './engines.js';

const BUILD_RUNS = Number(process.env['BENCH_BUILD_RUNS'] ?? 5);

const APP_DOCKERFILE = `FROM busybox
WORKDIR /app
COPY package.json .
RUN mkdir -p node_modules && for i in $(seq 1 300); do echo "module $i" > node_modules/m$i.js; done
COPY src/ ./src/
RUN cat src/*.js > bundle.js && wc -c bundle.js
ENV NODE_ENV=production PORT=8080
EXPOSE 8080
LABEL org.example.app=bench
CMD ["sh", "-c", "cat bundle.js"]
`;

function makeApp(dir: string): void {
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), APP_DOCKERFILE);
  writeFileSync(path.join(dir, 'package.json'), '{"name":"bench","version":"1.0.0"}\n');
  for (let i = 0; i < 40; i++) {
    writeFileSync(path.join(dir, 'src', `f${i}.js`), `export const v${i} = ${i};\n`.repeat(50));
  }
}

function makeManyFiles(dir: string, n: number): void {
  mkdirSync(path.join(dir, 'files'), { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY files/ /data/\n');
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, 'files', `d${i % 20}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `file${i}.txt`), `small file ${i}\n`);
  }
}

function makeBig(dir: string, mb: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY big.bin /big.bin\n');
  writeFileSync(path.join(dir, 'big.bin'), randomBytes(mb << 20));
}

function build(e: Engine, dir: string, tag: string, extra: string[] = []): number {
  const env = { ...process.env, DOCKER_HOST: `unix://${e.socket}`, DOCKER_BUILDKIT: '0' };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(DOCKER, ['build', '-q', '--network', 'none', '-t', tag, ...extra, dir], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${e.name}: docker build ${dir}: ${r.stderr.toString()}`);
  return ms;
}

function peakKb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

interface BuildFigures {
  cold: number;
  noChange: number;
  oneFile: number;
  manyFiles: number;
  bigRssMb?: number;
}

function measure(e: Engine, base: string, busyboxTar: string): BuildFigures {
  const env = { ...process.env, DOCKER_HOST: `unix://${e.socket}` };
  spawnSync(DOCKER, ['import', busyboxTar, 'busybox:latest'], { env });
  const app = path.join(base, `${e.name}-app`);
  makeApp(app);
  const cold: number[] = [];
  const noChange: number[] = [];
  const oneFile: number[] = [];
  for (let i = 0; i < BUILD_RUNS; i++) {
    cold.push(build(e, app, 'bench/app', ['--no-cache']));
    noChange.push(build(e, app, 'bench/app'));
    writeFileSync(path.join(app, 'src', 'f7.js'), `export const changed = ${Date.now()};\n`);
    oneFile.push(build(e, app, 'bench/app'));
  }
  const many = path.join(base, `${e.name}-many`);
  makeManyFiles(many, 2000);
  const manyFiles = median(
    Array.from({ length: BUILD_RUNS }, () => build(e, many, 'bench/many', ['--no-cache'])),
  );
  let bigRssMb: number | undefined;
  if (e.name === 'wharfd') {
    const big = path.join(base, 'big');
    makeBig(big, 200);
    writeFileSync(`/proc/${e.proc.pid}/clear_refs`, '5');
    const before = peakKb(e.proc.pid!);
    build(e, big, 'bench/big', ['--no-cache']);
    bigRssMb = (peakKb(e.proc.pid!) - before) / 1024;
  }
  return {
    cold: median(cold),
    noChange: median(noChange),
    oneFile: median(oneFile),
    manyFiles,
    ...(bigRssMb !== undefined ? { bigRssMb } : {}),
  };
}

export async function benchBuild(base: string): Promise<void> {
  const tar = path.join(base, 'busybox.tar');
  spawnSync('bash', [path.join(ROOT, 'scripts/mkbusybox.sh'), tar], { stdio: 'inherit' });
  const engines: Engine[] = [];
  try {
    const w = await startWharf(base);
    engines.push(w);
    const wf = measure(w, base, tar);
    const d = await startDocker(base).catch((err) => {
      console.error(`(no Docker comparison: ${(err as Error).message})`);
      return undefined;
    });
    if (d) engines.push(d);
    const df = d ? measure(d, base, tar) : undefined;
    const s = (ms?: number) => (ms === undefined ? undefined : `${(ms / 1000).toFixed(2)} s`);
    const ratio = (w: number, x?: number) => (x ? ` (${(w / x).toFixed(2)}x)` : '');
    console.log(`\nmedians of ${BUILD_RUNS} builds; classic builder protocol (DOCKER_BUILDKIT=0)`);
    console.log(row('figure', 'wharfd', 'dockerd', 'target'));
    console.log(
      row('app, cold (--no-cache)', s(wf.cold)!, s(df?.cold), `<= 0.6x${ratio(wf.cold, df?.cold)}`),
    );
    console.log(
      row(
        'app, rebuild with nothing changed',
        s(wf.noChange)!,
        s(df?.noChange),
        `<= 0.5x${ratio(wf.noChange, df?.noChange)}`,
      ),
    );
    console.log(
      row(
        'app, rebuild after one source file changed',
        s(wf.oneFile)!,
        s(df?.oneFile),
        `<= 0.5x${ratio(wf.oneFile, df?.oneFile)}`,
      ),
    );
    console.log(
      row(
        '2,000 small files, cold',
        s(wf.manyFiles)!,
        s(df?.manyFiles),
        `<= 0.7x${ratio(wf.manyFiles, df?.manyFiles)}`,
      ),
    );
    console.log(
      row(
        '200 MB context: wharfd RSS growth',
        `${wf.bigRssMb?.toFixed(0)} MB`,
        undefined,
        '<= 50 MB',
      ),
    );
  } finally {
    for (const e of engines) await e.stop().catch(() => undefined);
  }
}
