/**
 * A registry in token mode: Bearer challenges answered with tokens from a token server
 * (RS256 JWTs the registry verifies), scoped per repository and cached until they expire.
 * The token server runs in this process, so CLIs are spawned asynchronously here (a
 * spawnSync would block it from answering).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DOCKER_CLI, ROOT, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import {
  startRegistry,
  IDENTITY_TOKEN,
  startTokenServer,
  type Msg,
  type RegistryHandle,
  type TokenServer,
} from './registry.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let tokens: TokenServer;
const USER = 'bearer-user';
const PASS = 'bearer-pass';

beforeAll(async () => {
  tokens = await startTokenServer(USER, PASS);
  reg = await startRegistry({ token: tokens });
  d = await startDaemon();
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  await tokens?.stop();
});

function run(
  bin: string[],
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin[0]!, [...bin.slice(1), ...args], {
      env: {
        ...process.env,
        DOCKER_HOST: `unix://${d.socket}`,
        WHARF_HOST: `unix://${d.socket}`,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const dockerCli = (args: string[], env?: Record<string, string>) => run([DOCKER_CLI], args, env);
const wharfCli = (args: string[]) => run([path.join(ROOT, 'bin/wharf')], args);

describe('bearer token auth', () => {
  it('pushes and pulls with tokens scoped to the repository, fetched once per scope set', () => {
    const auth = { username: USER, password: PASS, serveraddress: reg.host };
    const ref = `${reg.host}/tok/bb:1`;
    expect(d.cli(['tag', 'busybox', ref]).code).toBe(0);
    tokens.requests.length = 0;
    return (async () => {
      const stream = await d.docker.getImage(ref).push({ authconfig: auth });
      const out: Msg[] = await new Promise((resolve, reject) =>
        d.docker.modem.followProgress(stream, (err, o) => (err ? reject(err) : resolve(o))),
      );
      expect(out.find((m) => m.error)).toBeUndefined();
      expect(out.some((m) => m.status === 'Pushed')).toBe(true);
      // One token for push (pull,push on the repository); every request of the push reused it.
      expect(tokens.requests).toEqual([['repository:tok/bb:pull,push']]);
      await d.docker.getImage(ref).remove();
      tokens.requests.length = 0;
      const pull = await d.docker.pull(ref, { authconfig: auth });
      const msgs: Msg[] = await new Promise((resolve, reject) =>
        d.docker.modem.followProgress(pull, (err, o) => (err ? reject(err) : resolve(o))),
      );
      expect(msgs.at(-1)?.status).toBe(`Status: Downloaded newer image for ${ref}`);
      expect(tokens.requests).toEqual([['repository:tok/bb:pull']]);
      const ran = await dockerCli(['run', '--rm', ref, 'echo', 'bearer ok']);
      expect(ran.stdout).toBe('bearer ok\n');
    })();
  });

  it('reports a wrong password and anonymous access as unauthorized', async () => {
    const bad = await dockerCli(['pull', `${reg.host}/tok/bb:1`], {
      DOCKER_CONFIG: '/nonexistent-wharf-test',
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unauthorized|authentication required/);
    const login = await wharfCli(['login', '-u', USER, '-p', 'wrong', reg.host]);
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('incorrect username or password');
    const ok = await dockerCli(['login', '-u', USER, '-p', PASS, reg.host], {
      DOCKER_CONFIG: '/tmp/wharf-token-test-cfg-' + process.pid,
    });
    expect(ok.stdout).toContain('Login Succeeded');
    const { rmSync } = await import('node:fs');
    rmSync('/tmp/wharf-token-test-cfg-' + process.pid, { recursive: true, force: true });
  });

  it('uses an identity token as an OAuth2 refresh token (POST to the realm)', async () => {
    const ref = `${reg.host}/tok/bb:1`;
    tokens.requests.length = 0;
    const stream = await d.docker.pull(ref, {
      authconfig: { identitytoken: IDENTITY_TOKEN, serveraddress: reg.host },
    });
    const msgs: Msg[] = await new Promise((resolve, reject) =>
      d.docker.modem.followProgress(stream, (err, o) => (err ? reject(err) : resolve(o))),
    );
    expect(msgs.find((m) => m.error)).toBeUndefined();
    expect(tokens.requests).toEqual([['repository:tok/bb:pull']]);
    const bad = await d.docker
      .pull(ref, { authconfig: { identitytoken: 'expired', serveraddress: reg.host } })
      .then(
        () => 'no error',
        (e: Error) => e.message,
      );
    expect(bad).toContain('incorrect username or password');
  });
});
