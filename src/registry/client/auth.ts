/**
 * Registry authentication: anonymous, Basic, and Bearer tokens (the distribution token spec).
 *
 * A registry says how to authenticate in the WWW-Authenticate header of a 401. For Bearer,
 * a token is fetched from the challenge's realm with its service and the scopes the request
 * needs (with Basic credentials, or an identity token as an OAuth2 refresh token), and cached
 * per scope set until it expires. One Authorizer serves one registry host with one set of
 * credentials.
 */
import { parseChallenges, type Challenge, mergeScopes } from './challenge.js';
import { registryError, unauthorized } from './errors.js';
import { readBody, retrying, isTransientError, send } from './http.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's IdentityToken). */
  identityToken?: string;
  /** A bearer token to send as is (docker's RegistryToken). */
  registryToken?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens are renewed this long before they expire (clock skew, long requests). */
const EXPIRY_MARGIN_MS = 10_000;
/** The spec's default lifetime when a token server names none. */
const DEFAULT_TOKEN_SECONDS = 60;

export class Authorizer {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  constructor(
    readonly credentials: Credentials | undefined,
    private readonly verifyTls: boolean,
    private readonly userAgent: string,
  ) {}

  get hasCredentials(): boolean {
    const c = this.credentials;
    return !!(c && (c.username || c.password || c.identityToken || c.registryToken));
  }

  /**
   * Learn from a 401: returns true when retrying with (new) credentials can help — a new
   * challenge, or a bearer token the registry no longer accepts.
   */
  onUnauthorized(wwwAuthenticate: string | undefined, scopes: readonly string[]): boolean {
    const challenges = parseChallenges(wwwAuthenticate ?? '');
    const usable =
      challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!usable) return false;
    const had = this.challenge;
    this.challenge = usable;
    if (!had || had.scheme !== usable.scheme) return true;
    if (usable.scheme === 'bearer') {
      // A cached token was refused: drop it and fetch one (once).
      return this.tokens.delete(cacheKey(usable, scopes));
    }
    return false;
  }

  /** Adopt the challenge of a `GET /v2/` (learned once, before streaming requests). */
  setChallenge(wwwAuthenticate: string | undefined): void {
    this.onUnauthorized(wwwAuthenticate, []);
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  /** The Authorization header for a request needing `scopes`, or undefined (anonymous). */
  async header(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const c = this.credentials;
    if (c?.registryToken) return `Bearer ${c.registryToken}`;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      if (!c?.username && !c?.password) return undefined;
      return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
    }
    if (ch.scheme !== 'bearer') return undefined;
    const key = cacheKey(ch, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return `Bearer ${cached.token}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchToken(ch, scopes, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const fresh = await p;
    this.tokens.set(key, fresh);
    return `Bearer ${fresh.token}`;
  }

  private async fetchToken(
    ch: Challenge,
    scopes: readonly string[],
    signal?: AbortSignal,
  ): Promise<CachedToken> {
    const realm = ch.params['realm'];
    if (!realm) throw unauthorized('bearer challenge without a realm');
    const url = new URL(realm);
    const service = ch.params['service'];
    const merged = mergeScopes(scopes);
    const c = this.credentials;
    const headers: Record<string, string> = { 'User-Agent': this.userAgent };
    let res;
    if (c?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: c.identityToken,
        client_id: 'wharf',
        ...(service ? { service } : {}),
      });
      if (merged.length) form.set('scope', merged.join(' '));
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      res = await retrying(
        () =>
          send({
            method: 'POST',
            url: url.href,
            headers,
            body: Buffer.from(form.toString()),
            verifyTls: this.verifyTls,
            signal,
          }),
        isTransientError,
        { signal },
      );
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of merged) url.searchParams.append('scope', s);
      if (c?.username || c?.password) {
        headers['Authorization'] =
          `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
        url.searchParams.set('account', c.username ?? '');
      }
      res = await retrying(
        () => send({ method: 'GET', url: url.href, headers, verifyTls: this.verifyTls, signal }),
        isTransientError,
        { signal },
      );
    }
    if ((res.statusCode ?? 0) >= 400) {
      const err = await registryError(res);
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw unauthorized(
          c?.username || c?.identityToken
            ? `unauthorized: incorrect username or password (${err.message})`
            : err.message,
        );
      }
      throw err;
    }
    const body = JSON.parse((await readBody(res, 1024 * 1024)).toString('utf8')) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
      issued_at?: string;
    };
    const token = body.token || body.access_token;
    if (!token) throw unauthorized(`token server ${url.origin} returned no token`);
    const lifetime =
      typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in
        : DEFAULT_TOKEN_SECONDS;
    const issued = body.issued_at ? Date.parse(body.issued_at) : NaN;
    const start = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
    return { token, expiresAt: start + lifetime * 1000 };
  }
}

function cacheKey(ch: Challenge, scopes: readonly string[]): string {
  return `${ch.params['realm'] ?? ''}|${ch.params['service'] ?? ''}|${mergeScopes(scopes).join(' ')}`;
}
