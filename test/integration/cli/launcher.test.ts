/**
 * bin/wharf, the launcher: the CLI starts from the V8 snapshot of `npm run build` with the
 * Node that made it, and falls back to the ESM bundle with any other Node, through npm's
 * symlink, and on request. Which form runs is read from the process's own command line.
 */
import { spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, ROOT, startDaemon, type DaemonHandle } from '../../harness/daemon.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-launcher-'));
  // Another file that runs the same Node: the launcher must not take it for the snapshot's.
  await fsp.mkdir(path.join(tmp, 'othernode'));
  await fsp.writeFile(
    path.join(tmp, 'othernode', 'node'),
    `#!/bin/sh\nexec ${process.execPath} "$@"\n`,
    { mode: 0o755 },
  );
  // What `npm install -g` makes: a symlink to bin/wharf from another directory.
  await fsp.mkdir(path.join(tmp, 'npmbin'));
  await fsp.symlink(path.join(ROOT, 'bin/wharf'), path.join(tmp, 'npmbin', 'wharf'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Starts `wharf events` (it runs until killed), returns its command line and a version. */
async function launch(
  bin: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ cmdline: string[]; environ: string[]; version: string }> {
  const fullEnv = { ...process.env, WHARF_HOST: `unix://${d.socket}`, ...env };
  const child = spawn(bin, ['events'], { env: fullEnv, stdio: 'ignore' });
  try {
    const cmdline = (await eventually<string[] | undefined>(() => {
      const args = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      // The shell's own command line until it execs Node.
      if (!args.some((a) => a === 'events') || /\/sh$|^sh$|dash/.test(args[0] ?? '')) return;
      return args;
    }, 10_000)) as string[];
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    const version = await new Promise<string>((resolve, reject) => {
      const v = spawn(bin, ['--version'], { env: fullEnv });
      let out = '';
      v.stdout.on('data', (b: Buffer) => (out += b.toString()));
      v.on('error', reject);
      v.on('close', () => resolve(out.trim()));
    });
    return { cmdline, environ, version };
  } finally {
    child.kill('SIGTERM');
  }
}

describe('bin/wharf', () => {
  it('starts from the snapshot, also through a symlink, without NODE_EXTRA_CA_CERTS', async () => {
    for (const bin of [path.join(ROOT, 'bin/wharf'), path.join(tmp, 'npmbin', 'wharf')]) {
      const r = await launch(bin, { NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' });
      expect(r.cmdline).toContain('--snapshot-blob');
      expect(r.environ.filter((e) => e.startsWith('NODE_EXTRA_CA_CERTS='))).toEqual([]);
      expect(r.cmdline).toContain(`${ROOT}/bin/../dist/wharf.blob`);
      expect(r.version).toMatch(/^Wharf version \S+, build node-/);
    }
  });

  it('falls back to the bundle with another Node, or when asked', async () => {
    const other = await launch(path.join(ROOT, 'bin/wharf'), {
      PATH: `${path.join(tmp, 'othernode')}:${process.env['PATH']}`,
    });
    expect(other.cmdline).not.toContain('--snapshot-blob');
    expect(other.cmdline.some((a) => a.endsWith('bin/wharf.mjs'))).toBe(true);
    expect(other.version).toMatch(/^Wharf version /);

    const asked = await launch(path.join(ROOT, 'bin/wharf'), { WHARF_NO_SNAPSHOT: '1' });
    expect(asked.cmdline).not.toContain('--snapshot-blob');
    expect(asked.version).toMatch(/^Wharf version /);
  });
});
