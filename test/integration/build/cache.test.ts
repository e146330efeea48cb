/**
 * The step cache: a rebuild with nothing changed reuses every step and gives the same image;
 * a changed source file invalidates from its COPY on; mtimes do not count; build args
 * invalidate the steps that use them; --no-cache; the cache survives a daemon restart and
 * `docker builder prune -a` clears it (prune.test.ts: without -a, filters, keep-storage).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';

let d: DaemonHandle;
let dir: string;
beforeAll(async () => {
  d = await startDaemon();
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-cache-'));
  await fsp.writeFile(
    path.join(dir, 'Dockerfile'),
    [
      'FROM busybox',
      'ARG FLAVOR=plain',
      'COPY a.txt /a.txt',
      'RUN cat /a.txt > /from-a',
      'COPY b.txt /b.txt',
      'RUN echo "$FLAVOR" > /flavor',
      'CMD ["cat", "/from-a", "/b.txt", "/flavor"]',
    ].join('\n'),
  );
  await fsp.writeFile(path.join(dir, 'a.txt'), 'a1\n');
  await fsp.writeFile(path.join(dir, 'b.txt'), 'b1\n');
});
afterAll(async () => {
  await d?.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

function build(args: string[]): { out: string; id: string } {
  const r = d.cli(['build', ...args, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    timeoutMs: 120_000,
  });
  if (r.code !== 0)
    throw new Error(`exit ${r.code}: ${r.stdout}\n${r.stderr}\n${d.output().slice(-3000)}`);
  const id = /Successfully built ([0-9a-f]{12})/.exec(r.stdout)?.[1] ?? '';
  return { out: r.stdout, id };
}

/** The steps (by number) that ran rather than came from the cache. */
function ranSteps(out: string): number[] {
  const ran: number[] = [];
  const steps = out.split(/^Step /m).slice(1);
  for (const s of steps) {
    const n = Number(/^(\d+)\//.exec(s)![1]);
    if (n > 1 && !s.includes('Using cache')) ran.push(n);
  }
  return ran;
}

const run = (ref: string) => {
  const r = d.cli(['run', '--rm', ref]);
  expect(r.stderr).toBe('');
  return r.stdout;
};

describe('build cache', () => {
  it('reuses every step of an unchanged rebuild, same image ID', () => {
    const first = build(['-t', 'cached']);
    expect(ranSteps(first.out)).toEqual([2, 3, 4, 5, 6, 7]);
    const again = build(['-t', 'cached']);
    expect(ranSteps(again.out)).toEqual([]);
    expect(again.out).not.toContain('Running in');
    expect(again.id).toBe(first.id);
    expect(run('cached')).toBe('a1\nb1\nplain\n');
  });

  it('ignores mtimes and reruns from the COPY of a changed file on', async () => {
    const later = new Date(Date.now() + 60_000);
    await fsp.utimes(path.join(dir, 'a.txt'), later, later);
    expect(ranSteps(build(['-t', 'cached']).out)).toEqual([]);
    await fsp.writeFile(path.join(dir, 'b.txt'), 'b2\n');
    expect(ranSteps(build(['-t', 'cached']).out)).toEqual([5, 6, 7]);
    expect(run('cached')).toBe('a1\nb2\nplain\n');
  });

  it('reruns from the first step a changed build arg reaches', () => {
    // Not at its ARG line: at its first use (the RUN, whose environment holds it).
    expect(ranSteps(build(['-t', 'cached', '--build-arg', 'FLAVOR=spicy']).out)).toEqual([
      4, 5, 6, 7,
    ]);
    expect(run('cached')).toBe('a1\nb2\nspicy\n');
    expect(ranSteps(build(['-t', 'cached', '--build-arg', 'FLAVOR=spicy']).out)).toEqual([]);
  });

  it('--no-cache runs everything', () => {
    expect(ranSteps(build(['--no-cache', '-t', 'cached']).out)).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('survives a daemon restart, and builder prune -a clears it', async () => {
    await d.restart();
    expect(ranSteps(build(['-t', 'cached']).out)).toEqual([]);
    const prune = d.cli(['builder', 'prune', '-af'], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain('Total reclaimed space');
    // The image still holds its layers; the next build starts over.
    expect(run('cached')).toBe('a1\nb2\nplain\n');
    expect(ranSteps(build(['-t', 'cached']).out)).toEqual([2, 3, 4, 5, 6, 7]);
  });
});
