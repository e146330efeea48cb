/**
 * A build whose base image is not local pulls it (as Docker's classic builder), with the
 * pull's progress in the build stream; `--pull` pulls even a present one; an image the
 * registry does not have fails the build.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
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

  it('pulls from a registry with auth using the credentials the CLI sends (X-Registry-Config)', async () => {
    const authReg = await startRegistry({ htpasswd: { user: 'builder', password: 'pw-1' } });
    const cfg = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-dockercfg-'));
    try {
      const docker = (args: string[], input?: string) =>
        d.cli(args, {
          env: { ...process.env, DOCKER_CONFIG: cfg, DOCKER_BUILDKIT: '0' },
          timeoutMs: 120_000,
          ...(input !== undefined ? { input } : {}),
        });
      const base = `${authReg.host}/private/base:1`;
      ok(docker(['login', '-u', 'builder', '--password-stdin', authReg.host], 'pw-1\n'));
      ok(docker(['tag', 'busybox', base]));
      ok(docker(['push', base]));
      ok(docker(['rmi', base]));
      const ctx = path.join(dir, 'private');
      await fsp.mkdir(ctx, { recursive: true });
      await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM ${base}\nLABEL private=1\n`);
      expect(ok(docker(['build', '-t', 'on-private', ctx]))).toContain('Successfully tagged');
      // wharf build sends the stored credentials the same way.
      ok(docker(['rmi', 'on-private', base]));
      const viaWharf = spawnSync(path.join(ROOT, 'bin/wharf'), ['build', '-t', 'on-private', ctx], {
        env: { ...process.env, DOCKER_CONFIG: cfg, WHARF_HOST: `unix://${d.socket}` },
        timeout: 120_000,
      });
      expect(viaWharf.stderr.toString()).toBe('');
      expect(viaWharf.stdout.toString()).toContain('Pulling from private/base');
      // Without credentials the same pull is refused.
      ok(docker(['rmi', 'on-private', base]));
      const anon = d.cli(['build', ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
      expect(anon.code).toBe(1);
    } finally {
      await authReg.stop();
      await fsp.rm(cfg, { recursive: true, force: true });
    }
  });
});
