/**
 * Registry credentials on the wire: the `X-Registry-Auth` header (base64url JSON of docker's
 * AuthConfig) and the `POST /auth` body.
 */
import { invalidArgument } from '../common/index.js';
import type { RegistryCredentials } from './routes/backend.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 of "user:pass" (config.json's form; some clients send it). */
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

/** Decode X-Registry-Auth; throws on a header that is not base64 JSON. */
export function decodeRegistryAuth(header: string | undefined): AuthConfig | undefined {
  if (!header || header.trim() === '') return undefined;
  // base64url, possibly with standard-alphabet characters or padding: Buffer takes both.
  const text = Buffer.from(header.trim(), 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidArgument('invalid X-Registry-Auth header: not a JSON object');
  }
  return parsed as AuthConfig;
}

/** The credentials an AuthConfig carries (none: undefined). */
export function credentialsOf(a: AuthConfig | undefined): RegistryCredentials | undefined {
  if (!a) return undefined;
  let { username, password } = a;
  if (!username && !password && a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) {
      username = plain.slice(0, i);
      password = plain.slice(i + 1);
    }
  }
  const out: RegistryCredentials = {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(a.identitytoken ? { identityToken: a.identitytoken } : {}),
    ...(a.registrytoken ? { registryToken: a.registrytoken } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}
