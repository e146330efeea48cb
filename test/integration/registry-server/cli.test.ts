/**
 * The `wharf registry` commands themselves: flag checks, help, and the promise that the
 * server's code stays out of the CLI bundle (start-up time of every other command).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../../harness/daemon.js';
import { rmrf, runWharf, startRegistry, tempDir } from './helpers.js';

describe('wharf registry CLI', () => {
  it('the CLI bundle does not contain the server', () => {
    const bundle = readFileSync(path.join(ROOT, 'dist/wharf.mjs'), 'utf8');
    expect(bundle).toContain('registry server code not found'); // the loader is there
    expect(bundle).not.toContain('MANIFEST_BLOB_UNKNOWN');
    expect(bundle).not.toContain('timingSafeEqual'); // token verification
    expect(bundle).not.toContain('BLOB_UPLOAD_UNKNOWN');
  });

  it('help lists the commands and flags', () => {
    const group = runWharf(['registry', '--help']);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/gc\n\s+serve/);
    const serve = runWharf(['registry', 'serve', '--help']);
    expect(serve.stdout).toContain('Usage:  wharf registry serve [OPTIONS]');
    for (const f of ['--addr', '--root', '--htpasswd', '--auth', '--tls-cert', '--tls-key']) {
      expect(serve.stdout).toContain(f);
    }
    expect(runWharf(['registry', 'gc', '--help']).stdout).toContain('--dry-run');
  });

  it('refuses inconsistent flags with a clear message', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--auth', 'token'], /--auth token needs --htpasswd/],
      [['--auth', 'magic'], /invalid --auth "magic"/],
      [['--tls-cert', '/nonexistent'], /--tls-cert and --tls-key go together/],
      [['--addr', 'nonsense'], /invalid address "nonsense"/],
      [
        ['--htpasswd', '/nonexistent/htpasswd'],
        /cannot read htpasswd file \/nonexistent\/htpasswd: ENOENT/,
      ],
      [['extra'], /accepts no arguments/],
    ];
    for (const [args, re] of cases) {
      const root = tempDir('cli');
      const r = runWharf(
        ['registry', 'serve', '--root', root, '--addr', '127.0.0.1:0', ...args],
        15_000,
      );
      rmrf(root);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });

  it('an address in use is reported, not a crash', async () => {
    const reg = await startRegistry();
    try {
      const root = tempDir('busy');
      const r = runWharf(['registry', 'serve', '--root', root, '--addr', reg.host], 15_000);
      rmrf(root);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('EADDRINUSE');
    } finally {
      expect(await reg.stop()).toBe(0);
      rmrf(reg.root);
    }
  });

  it('SIGINT shuts down cleanly and logs it on stderr', async () => {
    const reg = await startRegistry();
    try {
      const exited = new Promise<number | null>((resolve) => reg.process.once('exit', resolve));
      reg.process.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(reg.output()).toMatch(/"signal":"SIGINT"[^\n]*registry: shutting down/);
    } finally {
      await reg.kill();
      rmrf(reg.root);
    }
  });
});
