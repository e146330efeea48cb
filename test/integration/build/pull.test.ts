/**
 * A build whose base image is not local pulls it (as Docker's classic builder), with the
 * pull's progress in the build stream; `--pull` pulls even a present one; an image the
 * registry does not have fails the build.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { startRegistry, type RegistryHandle } from '../pull/registry.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let dir: string;
beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon();
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-pull-'));
});
afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

function ok(r: { code: number; stdout: string; stderr: string }): string {
  if (r.code !== 0)
    throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}\n${d.output().slice(-3000)}`);
  return r.stdout;
}

const build = (args: string[]) =>
  d.cli(['build', ...args, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    timeoutMs: 120_000,
  });

describe('build pulls its base image', () => {
  it('pulls a missing base, and fails on one the registry lacks', async () => {
    const base = `${reg.host}/build-base:1`;
    ok(d.cli(['tag', 'busybox', base]));
    ok(d.cli(['push', base]));
    ok(d.cli(['rmi', base]));
    await fsp.writeFile(
      path.join(dir, 'Dockerfile'),
      `FROM ${base}\nRUN echo pulled-base > /marker\n`,
    );
    const out = ok(build(['-t', 'on-pulled']));
    expect(out).toContain('Pulling from build-base');
    expect(ok(d.cli(['run', '--rm', 'on-pulled', 'cat', '/marker']))).toBe('pulled-base\n');
    expect(ok(d.cli(['image', 'inspect', '--format', '{{.Id}}', base])).trim()).toMatch(/^sha256:/);

    const again = ok(d.wharf(['build', '--pull', '-t', 'on-pulled', dir], { timeoutMs: 120_000 }));
    expect(again).toContain('Pulling from build-base');

    await fsp.writeFile(path.join(dir, 'Dockerfile'), `FROM ${reg.host}/not-there:1\n`);
    const r = build([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not-there/);
  });
});
