/**
 * The comparison suite of issue #4: the same contexts built by Docker's classic builder (a
 * private dockerd 20.10 from Debian's docker.io, `DOCKER_BUILDKIT=0 docker build`) and by
 * Wharf through the same docker CLI, then compared: the config fields the issue names, the
 * history's created_by lines, and the filesystem of every layer the build made and of the
 * whole image (paths, types, modes, owners, content digests, symlink targets, hard-link
 * groups). What is ignored and why is written in compare-helpers.ts. Both engines start from
 * the same busybox image (Wharf's import, `docker save`d into Docker, so even its ID agrees).
 */
import { promises as fsp } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type CliResult, type DaemonHandle } from '../../harness/daemon.js';
import { dockerdMissingReason, startDockerd, type DockerdHandle } from '../../harness/dockerd.js';
import {
  ageTree,
  configOf,
  flatten,
  historyOf,
  plain,
  savedLayers,
  type Cli,
} from './compare-helpers.js';
import { writeContext } from './helpers.js';

const skip = dockerdMissingReason();
if (skip) console.warn(`build compare: skipped: ${skip}`);

let d: DaemonHandle;
let dk: DockerdHandle;
let tmp: string;
let wharfCli: Cli;
let dockerCli: Cli;
const ENV = { ...process.env, DOCKER_BUILDKIT: '0' };
// Context files are dated before the suite; an mtime after `started` was made by a build.
const CONTEXT_DATE = new Date('2021-02-03T04:05:06Z');
const started = Math.floor(Date.now() / 1000) - 5;

function ok(r: CliResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(skip !== undefined)('builds compared with Docker classic builder', () => {
  beforeAll(async () => {
    process.env['DOCKER_BUILDKIT'] = '0'; // dk.cli passes process.env on
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-cmp-'));
    d = await startDaemon();
    dk = await startDockerd({ experimental: true }); // for --squash
    wharfCli = (a, o) => d.cli(a, { env: o?.env ?? ENV, timeoutMs: 180_000 });
    dockerCli = (a) => dk.cli(a, { timeoutMs: 180_000 });
    const base = path.join(tmp, 'busybox.tar');
    ok(d.cli(['save', '-o', base, 'busybox:latest']), 'save busybox');
    ok(dk.cli(['load', '-i', base]), 'load busybox into docker');
  }, 180_000);
  afterAll(async () => {
    await dk?.stop();
    await d?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  /** Build `dir` on both engines with the same arguments; returns both results. */
  function buildBoth(tag: string, dir: string, args: string[] = []): [CliResult, CliResult] {
    const argv = ['build', '--network', 'none', '-t', tag, ...args, dir];
    return [dockerCli(argv), wharfCli(argv)];
  }

  /** Build on both and compare config, history and filesystems. */
  async function compare(tag: string, dir: string, args: string[] = []): Promise<void> {
    await ageTree(dir, CONTEXT_DATE);
    const [docker, wharf] = buildBoth(tag, dir, args);
    ok(docker, `docker build ${tag}`);
    ok(wharf, `wharf build ${tag}`);
    expect(configOf(wharfCli, tag), 'config').toEqual(configOf(dockerCli, tag));
    expect(historyOf(wharfCli, tag), 'history').toEqual(historyOf(dockerCli, tag));
    const [dl, wl] = [
      await savedLayers(dockerCli, tag, tmp),
      await savedLayers(wharfCli, tag, tmp),
    ];
    expect(wl.length, 'layer count').toBe(dl.length);
    for (let i = 1; i < dl.length; i++)
      expect(plain(wl[i]!, started), `layer ${i} of ${tag}`).toEqual(plain(dl[i]!, started));
    expect(plain(flatten(wl), started), `filesystem of ${tag}`).toEqual(
      plain(flatten(dl), started),
    );
  }

  const context = (name: string, files: Record<string, string>) => writeContext(tmp, name, files);

  it('config instructions: ENV/ARG substitution, EXPOSE ranges, USER, SHELL, ONBUILD, STOPSIGNAL, HEALTHCHECK inheritance', async () => {
    const dir = await context('config', {
      Dockerfile: [
        'ARG BASE=busybox',
        'FROM $BASE',
        'ARG PORT=8000',
        'ARG GREETING',
        'ENV APP=/app NAME="a b" EMPTY=',
        'ENV OLD style value',
        'ENV DERIVED=${APP}/bin:${NAME:-x} ALT=${UNSET:-fallback} PLUS=${APP:+set} ESC=\\$APP',
        'LABEL org.test.port=$PORT "quoted key"="v w" multi=1 multi2=2',
        'EXPOSE $PORT 9000-9002 53/udp 80/tcp',
        'HEALTHCHECK --interval=7s --timeout=3s --retries=4 --start-period=2s CMD true',
        'HEALTHCHECK --timeout=9s CMD ["/bin/true"]',
        'SHELL ["/bin/sh", "-ec"]',
        'RUN echo "$GREETING $PORT" > /greeting',
        'USER wharf:wharf',
        'STOPSIGNAL SIGUSR1',
        'ONBUILD RUN echo trigger',
        'ONBUILD COPY . /src',
        'VOLUME ["/data", "/logs"]',
        'VOLUME /other',
        'WORKDIR $APP',
        'ENTRYPOINT ["/bin/echo"]',
        'CMD ["hello"]',
        'MAINTAINER someone',
      ].join('\n'),
    });
    await compare('cmp-config', dir, ['--build-arg', 'GREETING=hi', '--label', 'extra=1']);
  });

  it('ONBUILD triggers run in a child build, under the parent USER and WORKDIR', async () => {
    // The parent is the config test's image (ONBUILD RUN + ONBUILD COPY, USER wharf).
    const parent = await context('onbuild-parent', {
      Dockerfile: [
        'FROM busybox',
        'USER wharf',
        'WORKDIR /home/wharf',
        'ONBUILD RUN id -u > uid && pwd > pwd',
        'ONBUILD COPY . /src/',
        'ONBUILD ENV FROM_TRIGGER=1',
      ].join('\n'),
    });
    await compare('cmp-onbuild-parent', parent);
    const child = await context('onbuild-child', {
      Dockerfile:
        'FROM cmp-onbuild-parent\nRUN ls -A /src > listing && stat -c "%a %U:%G" /src /src/data.txt >> listing\n',
      'data.txt': 'd\n',
    });
    await compare('cmp-onbuild-child', child);
  });

  it('an imported base gets PATH; FROM scratch too; ENTRYPOINT clears an inherited CMD', async () => {
    const dir = await context('scratch', {
      Dockerfile: 'FROM scratch\nCOPY f /f\nENTRYPOINT ["/f"]\n',
      f: 'x\n',
    });
    await compare('cmp-scratch', dir);
    const dir2 = await context('entry', { Dockerfile: 'FROM busybox\nENTRYPOINT ["/bin/ls"]\n' });
    await compare('cmp-entry', dir2);
  });

  it('COPY modes: setuid/setgid dropped, sticky kept; symlinks, empty dirs, globs; hard links', async () => {
    const dir = await context('modes', {
      Dockerfile: [
        'FROM busybox',
        'COPY bits/ /bits/',
        'COPY tree /tree',
        'COPY *.txt /globbed/',
        'COPY t?ee/sub/[ab].conf /globbed2/',
        'COPY links/a /single',
        'COPY links /links/',
        'COPY tree/sub /existing/../renamed',
      ].join('\n'),
      'bits/suid': '#!/bin/sh\n',
      'bits/sgid': '#!/bin/sh\n',
      'bits/plain': 'p\n',
      'tree/file': 'f\n',
      'tree/sub/a.conf': 'a\n',
      'tree/sub/b.conf': 'b\n',
      'tree/sub/c.conf': 'c\n',
      'one.txt': '1\n',
      'two.txt': '2\n',
      'links/a': 'linked\n',
    });
    await fsp.chmod(path.join(dir, 'bits/suid'), 0o4755);
    await fsp.chmod(path.join(dir, 'bits/sgid'), 0o2750);
    await fsp.chmod(path.join(dir, 'bits/plain'), 0o600);
    await fsp.mkdir(path.join(dir, 'bits/sticky'));
    await fsp.chmod(path.join(dir, 'bits/sticky'), 0o1777);
    await fsp.mkdir(path.join(dir, 'tree/empty/deeper'), { recursive: true });
    await fsp.chmod(path.join(dir, 'tree/empty'), 0o700);
    await fsp.symlink('sub/a.conf', path.join(dir, 'tree/rel-link'));
    await fsp.symlink('/etc/passwd', path.join(dir, 'tree/abs-link'));
    await fsp.symlink('../../outside', path.join(dir, 'tree/out-link'));
    await fsp.symlink('missing', path.join(dir, 'tree/dangling'));
    await fsp.link(path.join(dir, 'links/a'), path.join(dir, 'links/b'));
    await compare('cmp-modes', dir);
  });

  it('RUN into a VOLUME is discarded, COPY into it kept; WORKDIR adds a layer only when it creates the directory', async () => {
    const dir = await context('volume', {
      Dockerfile: [
        'FROM busybox',
        'VOLUME /vol',
        'RUN echo run > /vol/run.txt && echo out > /outside.txt',
        'COPY copied.txt /vol/',
        'WORKDIR /etc',
        'WORKDIR new/sub',
        'WORKDIR ..',
        'RUN touch here',
      ].join('\n'),
      'copied.txt': 'copy\n',
    });
    await compare('cmp-volume', dir);
  });

  it('RUN deletions become whiteouts; a directory replaced is opaque', async () => {
    const dir = await context('whiteouts', {
      Dockerfile: [
        'FROM busybox',
        'RUN rm -rf /home/wharf /etc/shadow && mkdir -p /d/x && echo 1 > /d/x/f && echo k > /d/keep',
        'RUN rm -rf /d && mkdir /d && echo 2 > /d/new && chmod 0700 /d',
        'RUN ln -s /d/new /lnk && ln /d/new /d/hard && chown 1000:2000 /d/new && mkfifo /fifo',
      ].join('\n'),
    });
    await compare('cmp-whiteouts', dir);
  });

  it('multi-stage: COPY --from a stage by name and index, --chown with names and ids, ADD of local tars', async () => {
    const dir = await context('stages', {
      Dockerfile: [
        'FROM busybox AS build',
        'RUN mkdir -p /out/sub && echo built > /out/sub/f && chmod 4755 /out/sub/f && ln -s sub/f /out/l',
        'FROM busybox',
        'COPY --from=build /out /from-name',
        'COPY --from=0 /out/sub/f /from-index',
        'COPY --chown=wharf:wharfsup plain /owned-names',
        'COPY --chown=1000 plain /owned-uid',
        'COPY --chown=wharf dir /owned-dir/',
        'ADD archive.tar /unpacked/',
        'ADD archive.tar.gz /unpacked-gz',
        'ADD plain /added-plain',
      ].join('\n'),
      plain: 'plain\n',
      'dir/x': 'x\n',
      'dir/y/z': 'z\n',
    });
    await fsp.writeFile(path.join(dir, 'archive.tar'), await sampleTar());
    const { gzipSync } = await import('node:zlib');
    await fsp.writeFile(path.join(dir, 'archive.tar.gz'), gzipSync(await sampleTar()));
    await compare('cmp-stages', dir);
  });

  it('.dockerignore, ARG across stages, COPY into existing directories, ADD --chown, RUN-made modes', async () => {
    const dir = await context('misc', {
      Dockerfile: [
        'ARG V=1',
        'FROM busybox AS one',
        'ARG V',
        'RUN mkdir -p /o && echo "v=$V" > /o/v && chmod 0750 /o && chmod 0604 /o/v && chown 1000:2000 /o/v',
        'FROM one',
        'ARG V=2',
        'RUN echo "v=$V" >> /o/v',
        'COPY keep/ /etc/',
        'COPY keep /etc/keep-dir',
        'ADD --chown=wharf:wharf keep/a /home/wharf/',
        'COPY . /ctx/',
      ].join('\n'),
      '.dockerignore': 'ignored\n**/*.tmp\n!keep/keep.tmp\n',
      ignored: 'no\n',
      'keep/a': 'a\n',
      'keep/b.tmp': 'tmp\n',
      'keep/keep.tmp': 'kept\n',
    });
    await compare('cmp-misc', dir, ['--build-arg', 'V=3']);
  });

  it('ADD of a URL: downloaded, not unpacked, mode 0600, mtime from Last-Modified', async () => {
    // The server runs in a child process: the CLI runs with spawnSync, which blocks this
    // process's event loop.
    const files = path.join(tmp, 'served');
    await fsp.mkdir(files, { recursive: true });
    await fsp.writeFile(path.join(files, 'file.txt'), 'downloaded\n');
    await fsp.writeFile(path.join(files, 'archive.tar'), await sampleTar());
    const script = `
      const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
      const root = process.argv[1];
      const server = http.createServer((req, res) => {
        const file = path.join(root, path.basename(req.url));
        if (!fs.existsSync(file)) { res.writeHead(404); return res.end(); }
        res.writeHead(200, { 'Last-Modified': 'Wed, 03 Feb 2021 04:05:06 GMT' });
        res.end(fs.readFileSync(file));
      });
      server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
    const child = spawn(process.execPath, ['-e', script, files], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
        child.once('exit', (code) => reject(new Error(`file server exited ${code}`)));
      });
      const dir = await context('url', {
        Dockerfile: [
          'FROM busybox',
          `ADD http://127.0.0.1:${port}/file.txt /dl/`,
          `ADD http://127.0.0.1:${port}/archive.tar /dl/archive.tar`,
          `ADD --chown=wharf http://127.0.0.1:${port}/file.txt /dl/owned.txt`,
        ].join('\n'),
      });
      await compare('cmp-url', dir);
    } finally {
      child.kill();
    }
  });

  it('syntax errors fail both builds the same way', async () => {
    for (const [name, text] of [
      ['unknown', 'FROM busybox\nRUNN echo\n'],
      ['no-from', 'RUN echo\n'],
      ['env', 'FROM busybox\nENV\n'],
      ['json', 'FROM busybox\nCMD ["unterminated\n'],
    ] as const) {
      const dir = await context(`syntax-${name}`, { Dockerfile: text });
      const [docker, wharf] = buildBoth(`cmp-syntax-${name}`, dir);
      const last = (r: CliResult) => r.stderr.trim().split('\n').at(-1);
      expect({ code: wharf.code, last: last(wharf) }, name).toEqual({
        code: docker.code,
        last: last(docker),
      });
    }
  });

  it('independent stages (built in parallel by Wharf) give the same image', async () => {
    const dir = await context('parallel', {
      Dockerfile: [
        'FROM busybox AS a',
        'RUN mkdir /out && echo a > /out/a && sleep 0.3',
        'FROM busybox AS b',
        'WORKDIR /out',
        'RUN echo b > b && chmod 600 b',
        'FROM busybox',
        'COPY --from=b /out /out/',
        'COPY --from=a /out /out/',
      ].join('\n'),
    });
    await compare('cmp-parallel', dir);
  });

  it('--squash gives what Docker experimental squash gives', async () => {
    const dir = await context('squash', {
      Dockerfile: [
        'FROM busybox',
        'RUN echo a > /added && echo tmp > /tmpfile && mkdir -p /d/sub && echo x > /d/sub/x',
        'RUN rm /tmpfile /etc/shadow && rm -r /home/wharf /d/sub && chmod 0700 /d',
        'COPY f /d/f',
        'ENV K=v',
      ].join('\n'),
      f: 'f\n',
    });
    const argv = ['build', '--network', 'none', '--squash', '-t', 'cmp-squash', dir];
    ok(dockerCli(argv), 'docker build --squash');
    // The docker CLI offers --squash to experimental daemons only: Wharf's own CLI sends it.
    ok(d.wharf(['build', '--progress-plain', ...argv.slice(1)], { timeoutMs: 180_000 }), 'wharf');
    expect(configOf(wharfCli, 'cmp-squash'), 'config').toEqual(configOf(dockerCli, 'cmp-squash'));
    const hist = (cli: Cli) =>
      ok(
        cli(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'cmp-squash']),
        'history',
      )
        .replace(/sha256:[0-9a-f]{64}/g, '<id>')
        .replace(/(file|dir|multi):[0-9a-f]{64}/g, '$1:<digest>')
        .split('\n');
    expect(hist(wharfCli)).toEqual(hist(dockerCli));
    const [dl, wl] = [
      await savedLayers(dockerCli, 'cmp-squash', tmp),
      await savedLayers(wharfCli, 'cmp-squash', tmp),
    ];
    expect(wl.length).toBe(dl.length);
    expect(plain(wl.at(-1)!), 'the squashed layer').toEqual(plain(dl.at(-1)!));
    expect(plain(flatten(wl))).toEqual(plain(flatten(dl)));
  });

  it('a failing RUN fails both builds with the same message and exit code, and tags nothing', async () => {
    const dir = await context('failing', {
      Dockerfile: 'FROM busybox\nRUN echo before\nRUN echo boom >&2; exit 3\n',
    });
    const [docker, wharf] = buildBoth('cmp-failing', dir);
    expect(docker.code).toBe(3);
    expect(wharf.code).toBe(docker.code);
    const last = (r: CliResult) => r.stderr.trim().split('\n').at(-1);
    expect(last(wharf)).toBe(last(docker));
    expect(wharfCli(['image', 'inspect', 'cmp-failing']).code).toBe(1);
    expect(dockerCli(['image', 'inspect', 'cmp-failing']).code).toBe(1);
  });
});

/** A tar with owners, modes, a directory, a symlink and a hard link, as another tool writes it. */
async function sampleTar(): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  const mtime = new Date('2024-02-03T04:05:06Z');
  pack.entry({ name: 'top/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000, mtime });
  pack.entry({ name: 'top/f', mode: 0o640, uid: 1000, gid: 2000, mtime }, 'in tar\n');
  pack.entry({ name: 'top/x', mode: 0o4755, uid: 0, gid: 0, mtime }, '#!/bin/sh\n');
  pack.entry({ name: 'top/l', type: 'symlink', linkname: 'f', mode: 0o777, mtime });
  // The link's header carries its file's owner, as tar writes it. (Docker applies a link
  // header's owner to the shared file; Wharf's extractor, GNU tar, does not: a tar whose
  // link headers disagree with their file would differ.)
  pack.entry({
    name: 'top/h',
    type: 'link',
    linkname: 'top/f',
    mode: 0o640,
    uid: 1000,
    gid: 2000,
    mtime,
  });
  pack.entry({ name: 'rootfile', mode: 0o600, uid: 1, gid: 1, mtime }, 'r\n');
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
