import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { authKeyOf, loadAuth, registryOf, removeAuth, storeAuth } from './docker-config.js';

describe('registryOf / authKeyOf', () => {
  it.each([
    ['busybox', 'docker.io'],
    ['library/busybox:1', 'docker.io'],
    ['user/app', 'docker.io'],
    ['localhost/app', 'localhost'],
    ['127.0.0.1:5000/a/b:t', '127.0.0.1:5000'],
    ['registry.example.com/x@sha256:00', 'registry.example.com'],
    ['index.docker.io/library/x', 'docker.io'],
  ])('%s is on %s', (ref, reg) => expect(registryOf(ref)).toBe(reg));

  it.each([
    ['', 'https://index.docker.io/v1/'],
    ['docker.io', 'https://index.docker.io/v1/'],
    ['https://index.docker.io/v1/', 'https://index.docker.io/v1/'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
  ])('%s is stored as %s', (server, key) => expect(authKeyOf(server)).toBe(key));
});

describe('config.json', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('stores, loads and removes credentials as docker does, keeping other keys', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-dockercfg-'));
    const env = { DOCKER_CONFIG: dir };
    await fsp.writeFile(path.join(dir, 'config.json'), '{"psFormat":"x"}');
    await storeAuth(env, '127.0.0.1:5000', { username: 'u', password: 'p:w' });
    const raw = JSON.parse(await fsp.readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(raw).toEqual({ psFormat: 'x', auths: { '127.0.0.1:5000': { auth: 'dTpwOnc=' } } });
    expect((await fsp.stat(path.join(dir, 'config.json'))).mode & 0o777).toBe(0o600);
    expect(await loadAuth(env, 'http://127.0.0.1:5000')).toEqual({
      serveraddress: '127.0.0.1:5000',
      username: 'u',
      password: 'p:w',
    });
    expect(await loadAuth(env, 'other:1')).toBeUndefined();
    expect(await removeAuth(env, '127.0.0.1:5000')).toBe(true);
    expect(await removeAuth(env, '127.0.0.1:5000')).toBe(false);
    expect(await loadAuth(env, '127.0.0.1:5000')).toBeUndefined();
  });
});
