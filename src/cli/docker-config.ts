/**
 * Registry credentials in docker's client config, `$DOCKER_CONFIG/config.json` (default
 * `~/.docker/config.json`): `auths[server].auth` = base64 "user:pass", as `docker login`
 * writes it, so wharf and the docker CLI share logins. Other keys are kept as they are.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { RegistryAuthConfig } from '../client/index.js';

export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credsStore?: string;
  [k: string]: unknown;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

async function readConfig(file: string): Promise<ConfigFile> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as ConfigFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeConfig(file: string, cfg: ConfigFile): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  await fsp.rename(tmp, file);
}

/** The registry a reference names: `127.0.0.1:5000/x` → 127.0.0.1:5000; `busybox` → docker.io. */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash === -1) return 'docker.io';
  const first = ref.slice(0, slash);
  if (!/[.:]/.test(first) && first !== 'localhost') return 'docker.io';
  return first === 'index.docker.io' ? 'docker.io' : first;
}

/** The config.json key of a registry (`docker.io` → https://index.docker.io/v1/). */
export function authKeyOf(server: string): string {
  let s = server.trim();
  if (s === '' || /^(https?:\/\/)?(index\.|registry-1\.)?docker\.io(\/v1\/?)?\/?$/.test(s)) {
    return DOCKER_HUB_AUTH_KEY;
  }
  s = s.replace(/^https?:\/\//, '');
  const slash = s.indexOf('/');
  return slash === -1 ? s : s.slice(0, slash);
}

/** Stored credentials for a registry, as an AuthConfig (undefined if none). */
export async function loadAuth(
  env: NodeJS.ProcessEnv,
  server: string,
): Promise<RegistryAuthConfig | undefined> {
  const key = authKeyOf(server);
  const cfg = await readConfig(configPath(env));
  const auths = cfg.auths ?? {};
  // Keys may have been written as URLs (`https://host`, `http://host/v2/`).
  const entry = auths[key] ?? Object.entries(auths).find(([k]) => authKeyOf(k) === key)?.[1];
  if (!entry) return undefined;
  const out: RegistryAuthConfig = { serveraddress: key };
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i >= 0) {
      out.username = plain.slice(0, i);
      out.password = plain.slice(i + 1);
    }
  }
  if (entry.identitytoken) out.identitytoken = entry.identitytoken;
  return out;
}

export async function storeAuth(
  env: NodeJS.ProcessEnv,
  server: string,
  a: { username: string; password: string; identitytoken?: string },
): Promise<string> {
  const file = configPath(env);
  const cfg = await readConfig(file);
  cfg.auths ??= {};
  cfg.auths[authKeyOf(server)] = a.identitytoken
    ? { auth: Buffer.from(`${a.username}:`).toString('base64'), identitytoken: a.identitytoken }
    : { auth: Buffer.from(`${a.username}:${a.password}`).toString('base64') };
  await writeConfig(file, cfg);
  return file;
}

/** Remove a registry's credentials; false if there were none. */
export async function removeAuth(env: NodeJS.ProcessEnv, server: string): Promise<boolean> {
  const file = configPath(env);
  const cfg = await readConfig(file);
  const key = authKeyOf(server);
  const keys = Object.keys(cfg.auths ?? {}).filter((k) => k === key || authKeyOf(k) === key);
  if (keys.length === 0) return false;
  for (const k of keys) delete cfg.auths![k];
  await writeConfig(file, cfg);
  return true;
}
