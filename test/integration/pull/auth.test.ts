/**
 * A registry behind htpasswd Basic auth: docker login / wharf login through POST /auth,
 * credentials stored in a docker-compatible config.json (DOCKER_CONFIG), sent as
 * X-Registry-Auth on push and pull by both CLIs; clear errors without or with bad ones.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { startRegistry, type RegistryHandle } from './registry.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let dockerCfg: string;
let wharfCfg: string;
const USER = 'wharfie';
const PASS = 's3cret-pass';

beforeAll(async () => {
  reg = await startRegistry({ htpasswd: { user: USER, password: PASS } });
  d = await startDaemon();
  dockerCfg = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-dockercfg-'));
  wharfCfg = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-wharfcfg-'));
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  for (const dir of [dockerCfg, wharfCfg])
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

const docker = (args: string[], input?: string) =>
  d.cli(args, { env: { DOCKER_CONFIG: dockerCfg }, input });

describe('registry auth (htpasswd)', () => {
  it('refuses anonymous pushes and pulls with a 401-derived message', () => {
    expect(d.cli(['tag', 'busybox', `${reg.host}/auth/bb:1`]).code).toBe(0);
    const push = docker(['push', `${reg.host}/auth/bb:1`]);
    expect(push.code).toBe(1);
    expect(push.stderr).toContain('no basic auth credentials');
    const pull = docker(['pull', `${reg.host}/auth/bb:1`]);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/no basic auth credentials|unauthorized/);
  });

  it('rejects a wrong password at login', () => {
    const r = docker(['login', '-u', USER, '--password-stdin', reg.host], 'wrong\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`,
    );
    const api = d.wharf(['login', '-u', USER, '-p', 'wrong', reg.host]);
    expect(api.code).toBe(1);
    expect(api.stderr).toContain('401 Unauthorized');
  });

  it('docker login stores credentials that docker push and pull then send', async () => {
    const login = docker(['login', '-u', USER, '--password-stdin', reg.host], `${PASS}\n`);
    expect(login.stderr).not.toContain('Error');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    const cfg = JSON.parse(await fsp.readFile(path.join(dockerCfg, 'config.json'), 'utf8'));
    expect(cfg.auths[reg.host].auth).toBe(Buffer.from(`${USER}:${PASS}`).toString('base64'));
    const push = docker(['push', `${reg.host}/auth/bb:1`]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(docker(['rmi', `${reg.host}/auth/bb:1`]).code).toBe(0);
    const pull = docker(['pull', `${reg.host}/auth/bb:1`]);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
  });

  it('wharf login writes a docker-compatible config.json used by wharf push/pull; logout removes it', async () => {
    const env = { ...process.env, DOCKER_CONFIG: wharfCfg };
    const { spawnSync } = await import('node:child_process');
    const { ROOT } = await import('../../harness/daemon.js');
    const wharf = (args: string[], input?: string) => {
      const r = spawnSync(path.join(ROOT, 'bin/wharf'), [...args], {
        env: { ...env, WHARF_HOST: `unix://${d.socket}` },
        input,
      });
      return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    const login = wharf(['login', '-u', USER, '--password-stdin', reg.host], PASS);
    expect(login.code).toBe(0);
    expect(login.stdout).toBe('Login Succeeded\n');
    const cfg = JSON.parse(await fsp.readFile(path.join(wharfCfg, 'config.json'), 'utf8'));
    expect(cfg).toEqual({
      auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } },
    });
    expect(d.cli(['tag', 'busybox', `${reg.host}/auth/w:2`]).code).toBe(0);
    const push = wharf(['push', `${reg.host}/auth/w:2`]);
    expect(push.stderr).toBe('');
    expect(push.stdout).toMatch(/2: digest: sha256:/);
    const pull = wharf(['pull', '-q', `${reg.host}/auth/w:2`]);
    expect(pull.stderr).toBe('');
    expect(pull.stdout).toBe(`${reg.host}/auth/w:2\n`);
    const logout = wharf(['logout', reg.host]);
    expect(logout.stdout).toBe(`Removing login credentials for ${reg.host}\n`);
    expect(wharf(['logout', reg.host]).stdout).toBe(`Not logged in to ${reg.host}\n`);
    const denied = wharf(['push', `${reg.host}/auth/w:2`]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('no basic auth credentials');
  });

  it('dockerode pulls with an authconfig', async () => {
    const stream = await d.docker.pull(`${reg.host}/auth/w:2`, {
      authconfig: { username: USER, password: PASS, serveraddress: reg.host },
    });
    await new Promise((resolve, reject) =>
      d.docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))),
    );
    const bad = await d.docker
      .pull(`${reg.host}/auth/w:2`, {
        authconfig: { username: USER, password: 'nope', serveraddress: reg.host },
      })
      .then(
        () => 'no error',
        (e: Error) => e.message,
      );
    expect(bad).toMatch(/unauthorized|401/);
  });
});
