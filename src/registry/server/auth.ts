/**
 * Authentication. Three modes:
 *   none    every request passes;
 *   basic   `Authorization: Basic` checked against an htpasswd file (bcrypt entries, as
 *           `htpasswd -B` writes them); a miss gets 401 with a `Basic realm=` challenge;
 *   token   the registry is its own token server (docker's token protocol): a miss gets 401
 *           with `Bearer realm="<this server>/token",service=…,scope=…`; the client trades its
 *           Basic credentials at /token (GET, or POST with the OAuth2 password grant) for a
 *           signed token granting the scopes, and retries with `Authorization: Bearer`.
 * htpasswd has no per-repository rules, so a user who logs in may do everything.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';

import bcrypt from 'bcryptjs';

import { errorMessage, invalidArgument, type Logger } from '../../common/index.js';
import { regErr, type RegistryError } from './errors.js';
import { covers, formatScope, parseScopes, type Access } from './scope.js';
import { TokenSigner } from './token.js';

export type AuthMode = 'none' | 'basic' | 'token';

export interface AuthOptions {
  mode: AuthMode;
  htpasswdFile?: string;
  /** Basic realm, or the token service name. */
  realm: string;
  service: string;
  /** Override the token realm URL (default: this server's /token, as the client reached it). */
  tokenRealm?: string;
  tokenTtlSeconds: number;
}

export type AuthOutcome =
  | { ok: true; user?: string; granted: Access[] | 'all' }
  | { ok: false; error: RegistryError; challenge: string };

/** `user:hash` lines; comments and blank lines skipped. */
export function parseHtpasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    users.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return users;
}

export function isBcryptHash(h: string): boolean {
  return /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(h);
}

export function parseBasic(header: string | undefined): { user: string; pass: string } | undefined {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}

export class Htpasswd {
  /** Verified credentials, by hash: bcrypt costs tens of ms and Basic clients send them on every request. */
  private readonly ok = new Set<string>();

  constructor(private readonly users: Map<string, string>) {}

  static async load(file: string, logger: Logger): Promise<Htpasswd> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      throw invalidArgument(`cannot read htpasswd file ${file}: ${errorMessage(err)}`, err);
    }
    const all = parseHtpasswd(text);
    for (const [user, hash] of all) {
      if (!isBcryptHash(hash)) {
        logger.warn({ user }, 'registry: htpasswd entry is not bcrypt (use htpasswd -B); ignored');
        all.delete(user);
      }
    }
    if (all.size === 0) logger.warn({ file }, 'registry: htpasswd file has no bcrypt users');
    return new Htpasswd(all);
  }

  async verify(user: string, pass: string): Promise<boolean> {
    const hash = this.users.get(user);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(`${user}\0${pass}\0${hash}`).digest('hex');
    if (this.ok.has(key)) return true;
    if (!(await bcrypt.compare(pass, hash))) return false;
    this.ok.add(key);
    return true;
  }
}

export class Authenticator {
  private readonly signer: TokenSigner;

  constructor(
    readonly opts: AuthOptions,
    private readonly htpasswd: Htpasswd | undefined,
  ) {
    this.signer = new TokenSigner(opts.service);
  }

  async check(req: IncomingMessage, needed: Access[], secure: boolean): Promise<AuthOutcome> {
    const { mode } = this.opts;
    if (mode === 'none') return { ok: true, granted: 'all' };
    const header = req.headers.authorization;
    if (mode === 'basic') {
      const creds = parseBasic(header);
      if (creds && (await this.htpasswd?.verify(creds.user, creds.pass))) {
        return { ok: true, user: creds.user, granted: 'all' };
      }
      return {
        ok: false,
        error: regErr('UNAUTHORIZED', 'authentication required', needed.map(accessDetail)),
        challenge: `Basic realm="${this.opts.realm}"`,
      };
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const claims = m ? this.signer.verify(m[1]!, this.opts.service) : undefined;
    if (claims && covers(claims.access, needed)) {
      return { ok: true, user: claims.sub, granted: claims.access };
    }
    const realm =
      this.opts.tokenRealm ??
      `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}/token`;
    let challenge = `Bearer realm="${realm}",service="${this.opts.service}"`;
    if (needed.length > 0) challenge += `,scope="${needed.map(formatScope).join(' ')}"`;
    if (claims) challenge += ',error="insufficient_scope"';
    else if (m) challenge += ',error="invalid_token"';
    return {
      ok: false,
      error: regErr('UNAUTHORIZED', 'authentication required', needed.map(accessDetail)),
      challenge,
    };
  }

  /**
   * The /token endpoint. Returns the JSON to send, or throws UNAUTHORIZED. Credentials come
   * as Basic auth (GET, docker and skopeo) or as an OAuth2 password grant form (POST,
   * containerd).
   */
  async token(params: URLSearchParams, authorization: string | undefined): Promise<object> {
    if (this.opts.mode !== 'token')
      throw regErr('UNSUPPORTED', 'token auth is not enabled', undefined, 404);
    let creds = parseBasic(authorization);
    if (!creds && params.get('grant_type') === 'password') {
      creds = { user: params.get('username') ?? '', pass: params.get('password') ?? '' };
    }
    if (!creds || !(await this.htpasswd?.verify(creds.user, creds.pass))) {
      throw regErr('UNAUTHORIZED', 'invalid username or password');
    }
    const service = params.get('service');
    if (service !== null && service !== this.opts.service) {
      throw regErr('DENIED', `unknown service: ${service}`);
    }
    // Every user in htpasswd may do everything: grant what was asked.
    const access = params.getAll('scope').flatMap(parseScopes);
    const token = this.signer.sign(
      creds.user,
      this.opts.service,
      access,
      this.opts.tokenTtlSeconds,
    );
    const issued = new Date().toISOString();
    return {
      token,
      access_token: token,
      expires_in: this.opts.tokenTtlSeconds,
      issued_at: issued,
    };
  }
}

/** Whether an authorised request may also use `access` (a mount's source repository). */
export function allows(outcome: AuthOutcome, access: Access): boolean {
  if (!outcome.ok) return false;
  return outcome.granted === 'all' || covers(outcome.granted, [access]);
}

function accessDetail(a: Access): { Type: string; Name: string; Action: string } {
  return { Type: a.type, Name: a.name, Action: a.actions.join(',') };
}
