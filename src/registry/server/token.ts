/**
 * The registry's own bearer tokens: compact JWTs (RFC 7519) signed with HMAC-SHA256 under a
 * key made at start-up, carrying docker's `access` claim. Only this process verifies them, so
 * a symmetric key suffices; a restart invalidates them and clients simply log in again.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import type { Access } from './scope.js';

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export class TokenSigner {
  constructor(
    readonly issuer: string,
    private readonly key: Buffer = randomBytes(32),
  ) {}

  sign(sub: string, aud: string, access: Access[], ttlSeconds: number, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    const claims: TokenClaims = {
      iss: this.issuer,
      sub,
      aud,
      exp: iat + ttlSeconds,
      nbf: iat - 10,
      iat,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    return `${head}.${body}.${this.mac(`${head}.${body}`)}`;
  }

  /** The claims of a token we signed, still valid for `aud`; undefined otherwise. */
  verify(token: string, aud: string, now = Date.now()): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head, body, sig] = parts as [string, string, string];
    const want = Buffer.from(this.mac(`${head}.${body}`));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    let claims: TokenClaims;
    try {
      const h = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: unknown };
      if (h.alg !== 'HS256') return undefined;
      claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as TokenClaims;
    } catch {
      return undefined;
    }
    const t = now / 1000;
    if (claims.iss !== this.issuer || claims.aud !== aud) return undefined;
    if (!(t < claims.exp && t >= claims.nbf) || !Array.isArray(claims.access)) return undefined;
    return claims;
  }

  private mac(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }
}
