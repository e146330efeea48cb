/**
 * `POST /build` through the docker CLI's classic builder (DOCKER_BUILDKIT=0): the image's
 * config and filesystem, multi-stage builds, COPY/ADD rules, failures and parse errors.
 */
import { execFileSync } from 'node:child_process';
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
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

const context = (name: string, files: Record<string, string>): Promise<string> =>
  writeContext(tmp, name, files);

const build = (args: string[], opts: { input?: string } = {}) =>
  d.cli(['build', ...args], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    timeoutMs: 120_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });

function ok(r: { code: number; stdout: string; stderr: string }): string {
  if (r.code !== 0)
    throw new Error(
      `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n${d.output().slice(-3000)}`,
    );
  return r.stdout;
}

const inspect = (ref: string) => JSON.parse(ok(d.cli(['image', 'inspect', ref])))[0];
const runIn = (ref: string, script: string) =>
  ok(d.cli(['run', '--rm', '--entrypoint', '/bin/sh', ref, '-c', script]));

describe('docker build (classic protocol)', () => {
  it('builds config and files as Docker does', async () => {
    const dir = await context('basic', {
      Dockerfile: [
        '# syntax=docker/dockerfile:1',
        'ARG BASE=busybox',
        'FROM ${BASE}',
        'ARG GREETING=hello',
        'ENV APP_HOME=/app \\',
        '    MODE=test',
        'LABEL org.example.name="wharf test" version=${GREETING}',
        'WORKDIR $APP_HOME',
        'COPY hello.txt sub/ ./',
        'COPY --chown=wharf:wharfsup hello.txt /owned/hello.txt',
        'RUN echo "$GREETING from $MODE" > greeting && id -u > uid-at-build',
        'USER wharf',
        'EXPOSE 8080 53/udp',
        'VOLUME ["/data"]',
        'STOPSIGNAL SIGINT',
        'HEALTHCHECK --interval=5s --retries=2 CMD true',
        'SHELL ["/bin/sh", "-ec"]',
        'ENTRYPOINT ["/bin/cat"]',
        'CMD ["greeting"]',
      ].join('\n'),
      'hello.txt': 'hi\n',
      'sub/nested.txt': 'nested\n',
    });
    const out = ok(build(['-t', 'basic', '--build-arg', 'GREETING=bonjour', dir]));
    expect(out).toContain('Step 1/16 : FROM ${BASE}');
    expect(out).toMatch(/Step 8\/16 : RUN echo/);
    expect(out).toMatch(/ ---> Running in [0-9a-f]{12}/);
    expect(out).toMatch(/Successfully built [0-9a-f]{12}/);
    expect(out).toContain('Successfully tagged basic:latest');

    const img = inspect('basic');
    const c = img.Config;
    expect(c.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'APP_HOME=/app',
      'MODE=test',
    ]);
    expect(c.Labels).toEqual({ 'org.example.name': 'wharf test', version: 'bonjour' });
    expect(c.WorkingDir).toBe('/app');
    expect(c.User).toBe('wharf');
    expect(c.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {} });
    expect(c.Volumes).toEqual({ '/data': {} });
    expect(c.StopSignal).toBe('SIGINT');
    expect(c.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 });
    expect(c.Shell).toEqual(['/bin/sh', '-ec']);
    expect(c.Entrypoint).toEqual(['/bin/cat']);
    expect(c.Cmd).toEqual(['greeting']);

    // Base layer + WORKDIR + 2 COPY + RUN.
    expect(img.RootFS.Layers).toHaveLength(5);
    const history = JSON.parse(
      ok(d.cli(['history', '--no-trunc', '--format', '{{json .}}', 'basic']))
        .trim()
        .split('\n')[0]!,
    );
    // The nop line names the SHELL in effect, as Docker's.
    expect(history.CreatedBy).toBe('/bin/sh -ec #(nop)  CMD ["greeting"]');
    const hist = ok(d.cli(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'basic']));
    expect(hist).toContain(
      `|1 GREETING=bonjour /bin/sh -c echo "$GREETING from $MODE" > greeting && id -u > uid-at-build`,
    );

    expect(ok(d.cli(['run', '--rm', 'basic']))).toBe('bonjour from test\n');
    expect(
      runIn(
        'basic',
        'cat /app/hello.txt /app/nested.txt /app/uid-at-build; stat -c "%u:%g %a" /owned /owned/hello.txt /app/hello.txt',
      ),
    ).toBe('hi\nnested\n0\n1000:2000 755\n1000:2000 644\n0:0 644\n');
  });

  it("fails a RUN with Docker's message and exit code, and tags nothing", async () => {
    const dir = await context('fail', {
      Dockerfile: 'FROM busybox\nRUN echo before\nRUN exit 3\nRUN echo never\n',
    });
    const r = build(['-t', 'shouldnotexist', dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('before');
    expect(r.stdout).not.toContain('never');
    expect(r.stderr).toContain("The command '/bin/sh -c exit 3' returned a non-zero code: 3");
    expect(d.cli(['image', 'inspect', 'shouldnotexist']).code).toBe(1);
  });

  it("reports a Dockerfile error as the daemon's error, naming the line", async () => {
    const dir = await context('parse', { Dockerfile: 'FROM busybox\n\nRUNN true\n' });
    const r = build([dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('dockerfile parse error line 3: unknown instruction: RUNN');
    const missing = build(['-f', 'Nope', dir]);
    expect(missing.code).toBe(1);
  });

  it('builds multi-stage with COPY --from a stage and an index, and --target', async () => {
    const dir = await context('multi', {
      Dockerfile: [
        'FROM busybox AS build',
        'RUN mkdir /out && echo built > /out/artifact && ln -s artifact /out/link',
        'FROM busybox AS unused',
        'RUN exit 1',
        'FROM scratch AS final',
        'COPY --from=build /out/ /dist/',
        'COPY --from=0 /bin/busybox /bin/busybox',
        'CMD ["/bin/busybox", "cat", "/dist/artifact"]',
      ].join('\n'),
    });
    const out = ok(build(['-t', 'multi', dir]));
    expect(out).not.toContain('RUN exit 1');
    expect(ok(d.cli(['run', '--rm', 'multi']))).toBe('built\n');
    const img = inspect('multi');
    expect(img.RootFS.Layers).toHaveLength(2);
    expect(img.Config.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    expect(
      ok(d.cli(['run', '--rm', '--entrypoint', '/bin/busybox', 'multi', 'readlink', '/dist/link'])),
    ).toBe('artifact\n');

    const t = ok(build(['-t', 'multi-build', '--target', 'build', dir]));
    expect(t).toContain('Successfully tagged multi-build:latest');
    expect(runIn('multi-build', 'cat /out/artifact')).toBe('built\n');
    expect(build(['--target', 'nope', dir]).stderr).toContain(
      'failed to reach build target nope in Dockerfile',
    );
  });

  it('follows .dockerignore, keeps symlinks as links, drops setuid, unpacks local tars in ADD', async () => {
    const dir = await context('files', {
      Dockerfile: [
        'FROM busybox',
        'COPY . /ctx/',
        'ADD bundle.tar.gz /unpacked/',
        'COPY *.md /docs/',
        'ENV WHO=wharf',
        'COPY <<EOF /heredoc.txt',
        'hello $WHO, not expanded: \\$WHO',
        'EOF',
        'RUN <<EOT',
        'set -e',
        'echo from heredoc > /run-heredoc',
        'EOT',
      ].join('\n'),
      '.dockerignore': '*.log\nsecret/\n!secret/public\n',
      'keep.txt': 'k\n',
      'debug.log': 'nope\n',
      'secret/key': 'nope\n',
      'secret/public': 'yes\n',
      'a.md': 'a\n',
      'b.md': 'b\n',
    });
    await fsp.symlink('/etc/passwd', path.join(dir, 'outside-link'));
    await fsp.writeFile(path.join(dir, 'setuid-bin'), '#!/bin/sh\n', { mode: 0o4755 });
    await fsp.chmod(path.join(dir, 'setuid-bin'), 0o4755);
    await fsp.mkdir(path.join(dir, 'sticky'), { mode: 0o1777 });
    await fsp.chmod(path.join(dir, 'sticky'), 0o1777);
    const src = path.join(tmp, 'bundle-src');
    await fsp.mkdir(path.join(src, 'pkg'), { recursive: true });
    await fsp.writeFile(path.join(src, 'pkg', 'inside.txt'), 'from tar\n');
    execFileSync('tar', ['-czf', path.join(dir, 'bundle.tar.gz'), '-C', src, 'pkg']);

    ok(build(['-t', 'files', dir]));
    const listing = runIn(
      'files',
      [
        'ls -A /ctx | sort | tr "\\n" " "; echo',
        'readlink /ctx/outside-link',
        'stat -c "%a" /ctx/setuid-bin /ctx/sticky',
        'cat /ctx/secret/public /unpacked/pkg/inside.txt /docs/a.md /docs/b.md /heredoc.txt /run-heredoc',
      ].join('; '),
    );
    expect(listing).toBe(
      [
        '.dockerignore Dockerfile a.md b.md bundle.tar.gz keep.txt outside-link secret setuid-bin sticky ',
        '/etc/passwd',
        '755',
        '1777',
        'yes',
        'from tar',
        'a',
        'b',
        'hello wharf, not expanded: $WHO',
        'from heredoc',
        '',
      ].join('\n'),
    );
  });

  it('prints only the image ID with -q, and builds from a tar on stdin', async () => {
    const dir = await context('quiet', { Dockerfile: 'FROM busybox\nLABEL quiet=yes\n' });
    // --compress: the CLI gzips the context.
    const out = ok(build(['-q', '--compress', dir])).trim();
    expect(out).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(inspect(out).Config.Labels).toEqual({ quiet: 'yes' });
    const tar = execFileSync('tar', ['-c', '-C', dir, '.']);
    const fromStdin = ok(
      d.cli(['build', '-t', 'from-stdin', '--label', 'extra=1', '-'], {
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
        input: tar,
        timeoutMs: 60_000,
      }),
    );
    expect(fromStdin).toContain(`LABEL "extra"='1'`);
    expect(inspect('from-stdin').Config.Labels).toEqual({ quiet: 'yes', extra: '1' });
  });
});
