/**
 * `wharf build` and `wharf builder prune`: the context tarred by our CLI (.dockerignore, a
 * Dockerfile outside the context or on stdin, hard links), its flags, and exit codes.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { ptyRun, q } from '../../harness/pty.js';
import { writeContext } from './helpers.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-cli-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

const context = (name: string, files: Record<string, string>): Promise<string> =>
  writeContext(tmp, name, files);

function ok(r: { code: number; stdout: string; stderr: string }): string {
  if (r.code !== 0)
    throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}\n${d.output().slice(-3000)}`);
  return r.stdout;
}

const sh = (ref: string, script: string) =>
  ok(d.cli(['run', '--rm', '--entrypoint', '/bin/sh', ref, '-c', script]));

describe('wharf build', () => {
  it('sends the context without ignored files and builds with its flags', async () => {
    const dir = await context('ctx', {
      Dockerfile: 'FROM busybox\nARG V\nCOPY . /ctx/\nRUN echo "$V" > /v\n',
      '.dockerignore': 'Dockerfile\nnode_modules\n*.tmp\n',
      'app.js': 'js\n',
      'x.tmp': 'tmp\n',
      'node_modules/dep/index.js': 'dep\n',
    });
    await fsp.link(path.join(dir, 'app.js'), path.join(dir, 'app-link.js'));
    const iid = path.join(tmp, 'iid');
    const out = ok(
      d.wharf(['build', '-t', 'wharf-built', '--build-arg', 'V=wharf', '--iidfile', iid, dir], {
        timeoutMs: 120_000,
      }),
    );
    expect(out).toContain('Step 4/4 : RUN echo "$V" > /v');
    expect(out).toContain('Successfully tagged wharf-built:latest');
    const id = await fsp.readFile(iid, 'utf8');
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(ok(d.cli(['image', 'inspect', 'wharf-built'])))[0].Id).toBe(id);
    // The Dockerfile is sent (the daemon needs it) and dropped as .dockerignore says.
    expect(
      sh('wharf-built', 'ls -A /ctx | sort | tr "\\n" " "; stat -c %h /ctx/app.js; cat /v'),
    ).toBe('.dockerignore app-link.js app.js 2\nwharf\n');
  });

  it('reads a Dockerfile from outside the context or from stdin, prints the ID with -q', async () => {
    const dir = await context('plain', { 'data.txt': 'd\n' });
    const outside = path.join(tmp, 'Other.Dockerfile');
    await fsp.writeFile(outside, 'FROM busybox\nCOPY data.txt /\n');
    ok(d.wharf(['build', '-f', outside, '-t', 'from-outside', dir], { timeoutMs: 120_000 }));
    expect(sh('from-outside', 'cat /data.txt')).toBe('d\n');
    const q = ok(
      d.wharf(['build', '-q', '-f', '-', dir], {
        input: 'FROM busybox\nLABEL stdin=1\n',
        timeoutMs: 120_000,
      }),
    ).trim();
    expect(q).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(ok(d.cli(['image', 'inspect', q])))[0].Config.Labels).toEqual({ stdin: '1' });
  });

  it("draws a step list on a terminal, with the failed step's output and exit code", async () => {
    const dir = await context('tty', {
      Dockerfile: 'FROM busybox\nRUN echo tty-output-line\nLABEL done=1\n',
    });
    const wharf = (args: string[]) =>
      [path.join(ROOT, 'bin/wharf'), '-H', `unix://${d.socket}`, ...args].map(q).join(' ');
    const r = ptyRun(d, wharf(['build', '-t', 'tty-built', dir]), { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(' => [2/3] RUN echo tty-output-line');
    expect(r.stdout).toContain('Successfully tagged tty-built:latest');
    expect(r.stdout).toContain('\x1b[2K');
    const again = ptyRun(d, wharf(['build', '-t', 'tty-built', dir]), { timeoutMs: 120_000 });
    expect(again.stdout).toContain(' => CACHED [2/3] RUN echo tty-output-line');
    await fsp.writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM busybox\nRUN echo why-it-failed; exit 4\n',
    );
    const failed = ptyRun(d, wharf(['build', dir]), { timeoutMs: 120_000 });
    expect(failed.code).toBe(4);
    expect(failed.stdout).toContain('why-it-failed');
    expect(failed.stdout).toContain('returned a non-zero code: 4');
  });

  it("exits with the failed RUN's code, and builder prune clears the cache", async () => {
    const dir = await context('fails', { Dockerfile: 'FROM busybox\nRUN exit 7\n' });
    const r = d.wharf(['build', dir], { timeoutMs: 120_000 });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("The command '/bin/sh -c exit 7' returned a non-zero code: 7");
    const missing = d.wharf(['build', path.join(tmp, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('unable to prepare context');
    expect(ok(d.wharf(['builder', 'prune', '-f']))).toContain('Total reclaimed space:');
  });
});
