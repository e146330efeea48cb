/**
 * Build platforms: BuildKit's predefined args ($TARGETPLATFORM, $BUILDPLATFORM, TARGETOS…)
 * in FROM lines and in stages that declare them; `--platform` (`platform=` on POST /build)
 * through the docker CLI and `wharf build`; FROM --platform; a base image that does not
 * provide the platform asked fails with Docker's words; a bad platform is a 400.
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
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-platform-'));
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

const build = (args: string[]) =>
  d.cli(['build', ...args], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
const inspect = (ref: string) => JSON.parse(ok(d.cli(['image', 'inspect', ref])))[0];

describe('build platforms', () => {
  it('predefines the platform args, for FROM and for stages that declare them', async () => {
    const dir = await writeContext(tmp, 'args', {
      Dockerfile: [
        'ARG FLAVOUR=box-$TARGETARCH',
        'FROM --platform=$BUILDPLATFORM busybox AS b',
        'ARG TARGETPLATFORM',
        'ARG BUILDPLATFORM',
        'ARG TARGETARCH',
        'ARG TARGETVARIANT',
        'ARG FLAVOUR',
        'RUN echo "$TARGETPLATFORM $BUILDPLATFORM $TARGETARCH [$TARGETVARIANT] [$TARGETOS] $FLAVOUR" > /p',
        'FROM busybox',
        'COPY --from=b /p /p',
        'ENV UNDECLARED=[${TARGETARCH}]',
      ].join('\n'),
    });
    ok(build(['--platform', 'linux/amd64', '-t', 'plat-args', dir]));
    expect(ok(d.cli(['run', '--rm', 'plat-args', 'cat', '/p']))).toBe(
      'linux/amd64 linux/amd64 amd64 [] [] box-amd64\n',
    );
    expect(inspect('plat-args').Config.Env).toContain('UNDECLARED=[]');
    expect(inspect('plat-args').Architecture).toBe('amd64');
    // Same through wharf build.
    ok(d.wharf(['build', '--progress-plain', '--platform', 'linux/amd64', '-t', 'plat-w', dir]));
    expect(ok(d.cli(['run', '--rm', 'plat-w', 'cat', '/p']))).toContain('linux/amd64');
  });

  it('builds a COPY-only image for another platform from scratch', async () => {
    const dir = await writeContext(tmp, 'arm', {
      Dockerfile: 'FROM scratch\nARG TARGETPLATFORM\nCOPY f /f\nLABEL p=$TARGETPLATFORM\n',
      f: 'f\n',
    });
    ok(
      d.wharf(['build', '--progress-plain', '--platform', 'linux/arm64/v8', '-t', 'plat-arm', dir]),
    );
    const img = inspect('plat-arm');
    expect([img.Os, img.Architecture, img.Config.Labels.p]).toEqual([
      'linux',
      'arm64',
      'linux/arm64',
    ]);
    // The same context for amd64 must not come from the arm64 build's cache.
    ok(d.wharf(['build', '--progress-plain', '--platform', 'linux/amd64', '-t', 'plat-amd', dir]));
    const amd = inspect('plat-amd');
    expect([amd.Architecture, amd.Config.Labels.p]).toEqual(['amd64', 'linux/amd64']);
  });

  it('fails when the base image does not provide the platform, in Docker words', async () => {
    // A local name on a registry nobody serves (127.0.0.1:1), so the pull the builder tries
    // for another platform fails at once, without leaving the machine.
    ok(d.cli(['tag', 'busybox', '127.0.0.1:1/plat-base:latest']));
    const dir = await writeContext(tmp, 'mismatch', {
      Dockerfile: 'FROM --platform=linux/arm64 127.0.0.1:1/plat-base\nRUN true\n',
    });
    const r = build(['-t', 'plat-mismatch', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'image with reference 127.0.0.1:1/plat-base was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64',
    );
    expect(d.cli(['image', 'inspect', 'plat-mismatch']).code).toBe(1);
  });

  it('refuses a malformed platform before building', async () => {
    const dir = await writeContext(tmp, 'bad', { Dockerfile: 'FROM busybox\n' });
    const r = build(['--platform', 'linux//amd64', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown operating system or architecture');
  });
});
