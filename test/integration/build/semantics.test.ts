/**
 * Docker classic-builder behaviours that are easy to miss (issue #4), each checked on the
 * built image, and that a build leaves nothing behind: no intermediate containers (unless a
 * RUN failed and --force-rm was not given, as Docker), no build snapshots or scratch dirs.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { writeContext } from './helpers.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-sem-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

const context = (name: string, files: Record<string, string>): Promise<string> =>
  writeContext(tmp, name, files);

const build = (args: string[]) =>
  d.cli(['build', ...args], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });

function ok(r: { code: number; stdout: string; stderr: string }): string {
  if (r.code !== 0)
    throw new Error(
      `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n${d.output().slice(-3000)}`,
    );
  return r.stdout;
}

const config = (ref: string) => JSON.parse(ok(d.cli(['image', 'inspect', ref])))[0].Config;
const sh = (ref: string, script: string) =>
  ok(d.cli(['run', '--rm', '--entrypoint', '/bin/sh', ref, '-c', script]));

describe('classic builder semantics', () => {
  it('RUN writes into a VOLUME are discarded, COPY into it is kept', async () => {
    const dir = await context('volume', {
      Dockerfile: 'FROM busybox\nVOLUME /vol\nRUN echo run > /vol/run.txt\nCOPY copied.txt /vol/\n',
      'copied.txt': 'copy\n',
    });
    ok(build(['-t', 'sem-volume', dir]));
    expect(sh('sem-volume', 'ls /vol')).toBe('copied.txt\n');
  });

  it('COPY of one hard-linked file breaks the link, COPY of its directory keeps it', async () => {
    const dir = await context('links', {
      Dockerfile: 'FROM busybox\nCOPY d/a /single\nCOPY d /tree/\n',
      'd/a': 'x\n',
    });
    await fsp.link(path.join(dir, 'd/a'), path.join(dir, 'd/b'));
    ok(build(['-t', 'sem-links', dir]));
    expect(sh('sem-links', 'stat -c %h /single /tree/a /tree/b')).toBe('1\n2\n2\n');
  });

  it('WORKDIR adds a layer only when it creates the directory', async () => {
    const dir = await context('workdir', {
      Dockerfile: 'FROM busybox\nWORKDIR /etc\nWORKDIR new/sub\nWORKDIR ..\n',
    });
    ok(build(['-t', 'sem-workdir', dir]));
    const img = JSON.parse(ok(d.cli(['image', 'inspect', 'sem-workdir'])))[0];
    expect(img.Config.WorkingDir).toBe('/etc/new');
    expect(img.RootFS.Layers).toHaveLength(2);
  });

  it('a HEALTHCHECK inherits the options it leaves unset; ENTRYPOINT clears an inherited CMD', async () => {
    const dir = await context('health', {
      Dockerfile: [
        'FROM busybox',
        'HEALTHCHECK --interval=7s --timeout=3s --retries=4 CMD true',
        'HEALTHCHECK --timeout=9s CMD ["/bin/true"]',
        'ENTRYPOINT ["/bin/echo"]',
      ].join('\n'),
    });
    ok(build(['-t', 'sem-health', dir]));
    const c = config('sem-health');
    expect(c.Healthcheck).toEqual({
      Test: ['CMD', '/bin/true'],
      Interval: 7e9,
      Timeout: 9e9,
      Retries: 4,
    });
    expect(c.Cmd).toBeNull();
    expect(c.Entrypoint).toEqual(['/bin/echo']);
  });

  it('runs ONBUILD triggers in the child build and does not pass them on', async () => {
    const parent = await context('onbuild-parent', {
      Dockerfile: 'FROM busybox\nONBUILD COPY marker /from-trigger\nONBUILD RUN echo ran > /ran\n',
    });
    ok(build(['-t', 'sem-onbuild-parent', parent]));
    expect(config('sem-onbuild-parent').OnBuild).toEqual([
      'COPY marker /from-trigger',
      'RUN echo ran > /ran',
    ]);
    const child = await context('onbuild-child', {
      Dockerfile: 'FROM sem-onbuild-parent\n',
      marker: 'm\n',
    });
    const out = ok(build(['-t', 'sem-onbuild-child', child]));
    expect(out).toContain('# Executing 2 build triggers');
    expect(sh('sem-onbuild-child', 'cat /from-trigger /ran')).toBe('m\nran\n');
    expect(config('sem-onbuild-child').OnBuild).toBeNull();
  });

  it('scopes ARGs: meta args for FROM only, build args override defaults, unused ones warned', async () => {
    const dir = await context('args', {
      Dockerfile: [
        'ARG IMG=busybox',
        'FROM $IMG',
        'ENV BEFORE=[$IMG]',
        'ARG IMG',
        'ARG V=default',
        'ENV AFTER=[$IMG] V=$V',
        'RUN echo "$V" > /v',
      ].join('\n'),
    });
    const out = ok(
      build(['-t', 'sem-args', '--build-arg', 'V=given', '--build-arg', 'UNUSED=1', dir]),
    );
    expect(out).toContain('[Warning] One or more build-args [UNUSED] were not consumed');
    expect(config('sem-args').Env).toContain('BEFORE=[]');
    expect(config('sem-args').Env).toContain('AFTER=[busybox]');
    expect(config('sem-args').Env).toContain('V=given');
    expect(sh('sem-args', 'cat /v')).toBe('given\n');
  });

  it('RUN --mount: cache dirs persist across builds, tmpfs and context binds stay out of the image', async () => {
    const dir = await context('mounts', {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=cache,target=/cache sh -c "echo x >> /cache/log; wc -l < /cache/log > /count"',
        'RUN --mount=type=tmpfs,target=/scratch sh -c "echo t > /scratch/f && cat /scratch/f > /from-tmpfs"',
        'RUN --mount=type=bind,source=data,target=/src cat /src/file > /from-bind',
      ].join('\n'),
      'data/file': 'bound\n',
    });
    ok(build(['-t', 'sem-mounts', dir]));
    ok(build(['--no-cache', '-t', 'sem-mounts', dir]));
    expect(sh('sem-mounts', 'cat /count /from-tmpfs /from-bind; ls -A /cache /scratch /src')).toBe(
      '2\nt\nbound\n/cache:\n\n/scratch:\n\n/src:\n',
    );
    const secret = await context('secret', {
      Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=x,required cat /run/secrets/x\n',
    });
    // The docker CLI has no way to send secrets to the classic builder: a required one fails.
    const r = build([secret]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('secret x: not found');
  });

  it('gives RUN containers the --memory and --shm-size limits of the build', async () => {
    const dir = await context('limits', {
      Dockerfile:
        'FROM busybox\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes > /mem && df -k /dev/shm | tail -1 > /shm\n',
    });
    ok(build(['--memory', '64m', '--shm-size', '32m', '-t', 'sem-limits', dir]));
    const [mem, shm] = sh('sem-limits', 'cat /mem /shm').split('\n');
    expect(mem).toBe(String(64 * 1024 * 1024));
    expect(shm).toMatch(/^\S+\s+32768\s/);
  });

  it('runs a RUN heredoc with a shebang as its own program', async () => {
    const dir = await context('shebang', {
      Dockerfile: ['FROM busybox', 'RUN <<EOF', '#!/bin/sh', 'echo "$0" > /zero', 'EOF'].join('\n'),
    });
    ok(build(['-t', 'sem-shebang', dir]));
    // Run as a file (not `sh -c`): $0 is the script's path.
    expect(sh('sem-shebang', 'cat /zero')).toBe('/dev/pipes/EOF\n');
  });

  it('leaves no intermediate containers or scratch state; a failed RUN keeps its container unless --force-rm', async () => {
    const before = ok(d.cli(['ps', '-aq'])).trim();
    expect(before).toBe('');
    const dir = await context('failing', { Dockerfile: 'FROM busybox\nRUN false\n' });
    expect(build([dir]).code).toBe(1);
    expect(
      ok(d.cli(['ps', '-aq']))
        .trim()
        .split('\n'),
    ).toHaveLength(1);
    ok(d.cli(['rm', '-f', ok(d.cli(['ps', '-aq'])).trim()]));
    expect(build(['--force-rm', dir]).code).toBe(1);
    expect(ok(d.cli(['ps', '-aq'])).trim()).toBe('');
    const builderDir = path.join(d.dataRoot, 'builder');
    const left = await fsp.readdir(builderDir).catch(() => []);
    expect(left).toEqual([]);
    const active = await fsp
      .readdir(path.join(d.dataRoot, 'overlay', 'containers'))
      .catch(() => []);
    expect(active.filter((n) => n.startsWith('build-'))).toEqual([]);
  });
});
