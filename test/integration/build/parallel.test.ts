/**
 * Independent stages build in parallel. No timed assertion: each of two independent stages
 * records when it starts and ends (the host's /proc/uptime, which every container reads the
 * same) and, through a shared cache mount, waits (up to 60 s) to see the other one started.
 * Sequential stages could never see each other, so both "saw" markers plus overlapping
 * intervals prove the overlap. The stream still reads as a sequential build's.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type CliResult, type DaemonHandle } from '../../harness/daemon.js';
import { writeContext } from './helpers.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-parallel-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

function ok(r: CliResult): string {
  if (r.code !== 0)
    throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}\n${d.output().slice(-3000)}`);
  return r.stdout;
}

/** A stage that records its interval and whether it met `other` while running. */
const stage = (me: string, other: string) => [
  `FROM busybox AS ${me}`,
  `RUN --mount=type=cache,id=rendezvous,target=/sync sh -c '` +
    `cut -d" " -f1 /proc/uptime > /start; touch /sync/${me}; i=0; ` +
    `while [ ! -e /sync/${other} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; ` +
    `if [ -e /sync/${other} ]; then echo saw > /met; else echo alone > /met; fi; ` +
    `sleep 1; cut -d" " -f1 /proc/uptime > /end'`,
];

describe('parallel stages', () => {
  it('runs two independent stages at the same time; the output stays in stage order', async () => {
    const dir = await writeContext(tmp, 'parallel', {
      Dockerfile: [
        ...stage('a', 'b'),
        ...stage('b', 'a'),
        'FROM busybox',
        'COPY --from=a /start /a.start',
        'COPY --from=a /end /a.end',
        'COPY --from=a /met /a.met',
        'COPY --from=b /start /b.start',
        'COPY --from=b /end /b.end',
        'COPY --from=b /met /b.met',
      ].join('\n'),
    });
    const out = ok(
      d.cli(['build', '--no-cache', '-t', 'par', dir], {
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
        timeoutMs: 180_000,
      }),
    );
    const [aStart, aEnd, aMet, bStart, bEnd, bMet] = ok(
      d.cli([
        'run',
        '--rm',
        'par',
        'cat',
        '/a.start',
        '/a.end',
        '/a.met',
        '/b.start',
        '/b.end',
        '/b.met',
      ]),
    )
      .trim()
      .split('\n');
    expect([aMet, bMet]).toEqual(['saw', 'saw']);
    // The intervals overlap: each started before the other ended.
    expect(Number(aStart)).toBeLessThan(Number(bEnd));
    expect(Number(bStart)).toBeLessThan(Number(aEnd));

    // The stream is a sequential build's: steps numbered 1..N in order, stage a's before b's.
    const steps = [...out.matchAll(/^Step (\d+)\/(\d+) : (.*)$/gm)];
    expect(steps.map((m) => Number(m[1]))).toEqual(steps.map((_, i) => i + 1));
    expect(steps.every((m) => m[2] === String(steps.length))).toBe(true);
    expect(steps[0]![3]).toBe('FROM busybox AS a');
    expect(steps[2]![3]).toBe('FROM busybox AS b');
    expect(out.indexOf('FROM busybox AS b')).toBeGreaterThan(out.indexOf('Running in'));
  });

  it('a failing stage fails the build with its error; the other is stopped and removed', async () => {
    const dir = await writeContext(tmp, 'parallel-fail', {
      Dockerfile: [
        'FROM busybox AS slow',
        'RUN sleep 30',
        'FROM busybox AS bad',
        'RUN exit 7',
        'FROM busybox',
        'COPY --from=slow /etc/passwd /a',
        'COPY --from=bad /etc/passwd /b',
      ].join('\n'),
    });
    const r = d.cli(['build', '--no-cache', '-t', 'par-fail', dir], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      timeoutMs: 120_000,
    });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("The command '/bin/sh -c exit 7' returned a non-zero code: 7");
    // The failed RUN's container stays (as Docker); the cancelled one does not.
    const left = ok(d.cli(['ps', '-a', '--no-trunc', '--format', '{{.Command}}']));
    expect(left).toContain('exit 7');
    expect(left).not.toContain('sleep 30');
    expect(d.cli(['image', 'inspect', 'par-fail']).code).toBe(1);
  });
});
