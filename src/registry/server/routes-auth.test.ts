import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { silentLogger } from '../../common/index.js';
import { Htpasswd, isBcryptHash, parseBasic, parseHtpasswd } from './auth.js';
import { RegistryError } from './errors.js';
import { matchRoute } from './routes.js';
import { covers, neededAccess, parseScopes } from './scope.js';
import { TokenSigner } from './token.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('matchRoute', () => {
  it.each([
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/a/b/tags/list', { kind: 'tags', repo: 'a/b' }],
    ['/v2/a/manifests/latest', { kind: 'manifest', repo: 'a', ref: 'latest' }],
    [`/v2/a/b/c/manifests/${D}`, { kind: 'manifest', repo: 'a/b/c', ref: D }],
    [`/v2/a/manifests/${D.replace(':', '%3A')}`, { kind: 'manifest', repo: 'a', ref: D }],
    [`/v2/a/blobs/${D}`, { kind: 'blob', repo: 'a', digest: D }],
    ['/v2/a/blobs/uploads/', { kind: 'uploads', repo: 'a' }],
    ['/v2/a/blobs/uploads/abc', { kind: 'upload', repo: 'a', id: 'abc' }],
    // Names may contain the API's own words.
    ['/v2/blobs/uploads/blobs/uploads/', { kind: 'uploads', repo: 'blobs/uploads' }],
    ['/v2/x/manifests/manifests/v1', { kind: 'manifest', repo: 'x/manifests', ref: 'v1' }],
    [`/v2/a/referrers/${D}`, { kind: 'referrers', repo: 'a', digest: D }],
    ['/v1/a/tags/list', undefined],
    ['/v2/a/unknown', undefined],
  ])('%s', (p, want) => {
    expect(matchRoute(p)).toEqual(want);
  });

  it('invalid names are NAME_INVALID', () => {
    expect(() => matchRoute('/v2/A/tags/list')).toThrow(RegistryError);
    expect(() => matchRoute('/v2/../etc/tags/list')).toThrow(/invalid repository name/);
  });
});

describe('scopes', () => {
  it('parses scopes, names with ports, several per parameter', () => {
    expect(parseScopes('repository:a/b:pull,push registry:catalog:*')).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    expect(parseScopes('repository:host:5000/a:pull')).toEqual([
      { type: 'repository', name: 'host:5000/a', actions: ['pull'] },
    ]);
    expect(parseScopes('garbage')).toEqual([]);
  });
  it('what a request needs', () => {
    expect(neededAccess('GET', { repo: 'a' })).toEqual([
      { type: 'repository', name: 'a', actions: ['pull'] },
    ]);
    expect(neededAccess('PATCH', { repo: 'a' })[0]!.actions).toEqual(['pull', 'push']);
    expect(neededAccess('DELETE', { repo: 'a' })[0]!.actions).toEqual(['delete']);
    expect(neededAccess('GET', {})).toEqual([]);
    expect(neededAccess('GET', { catalog: true })[0]!.type).toBe('registry');
  });
  it('covers', () => {
    const g = parseScopes('repository:a:pull,push');
    expect(covers(g, neededAccess('PUT', { repo: 'a' }))).toBe(true);
    expect(covers(g, neededAccess('DELETE', { repo: 'a' }))).toBe(false);
    expect(covers(g, neededAccess('GET', { repo: 'b' }))).toBe(false);
    expect(covers(parseScopes('repository:a:*'), neededAccess('DELETE', { repo: 'a' }))).toBe(true);
  });
});

describe('tokens', () => {
  const signer = new TokenSigner('svc');
  const access = parseScopes('repository:a:pull');
  it('round-trips claims', () => {
    const t = signer.sign('alice', 'svc', access, 60);
    expect(signer.verify(t, 'svc')?.access).toEqual(access);
    expect(signer.verify(t, 'svc')?.sub).toBe('alice');
  });
  it('refuses other audiences, expired, tampered, foreign tokens', () => {
    const t = signer.sign('alice', 'svc', access, 60, Date.now());
    expect(signer.verify(t, 'other')).toBeUndefined();
    expect(signer.verify(t, 'svc', Date.now() + 61_000)).toBeUndefined();
    const [h, , s] = t.split('.');
    const body = Buffer.from(JSON.stringify({ access: parseScopes('repository:a:*') })).toString(
      'base64url',
    );
    expect(signer.verify(`${h}.${body}.${s}`, 'svc')).toBeUndefined();
    expect(new TokenSigner('svc').verify(t, 'svc')).toBeUndefined();
    expect(signer.verify('a.b', 'svc')).toBeUndefined();
  });
});

describe('htpasswd and Basic', () => {
  it('parses entries and recognises bcrypt', () => {
    const users = parseHtpasswd(
      '# c\nalice:$2y$05$KWT.nb23bD0MCbTysPkXkOOlM4/fm8g7l/Gqsx2LfqBrJ7zXGv2Cu\n\nbob:{SHA}x\nbad\n',
    );
    expect([...users.keys()]).toEqual(['alice', 'bob']);
    expect(isBcryptHash(users.get('alice')!)).toBe(true);
    expect(isBcryptHash(users.get('bob')!)).toBe(false);
  });
  it('parses Basic credentials; passwords may hold colons', () => {
    const h = `Basic ${Buffer.from('u:p:w').toString('base64')}`;
    expect(parseBasic(h)).toEqual({ user: 'u', pass: 'p:w' });
    expect(parseBasic('Bearer x')).toBeUndefined();
    expect(parseBasic(undefined)).toBeUndefined();
  });
});

describe('Htpasswd', () => {
  it('verifies entries written by `htpasswd -nbB` ($2y$) and skips non-bcrypt ones', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-htpasswd-'));
    try {
      const file = path.join(dir, 'htpasswd');
      // `htpasswd -nbB alice secret` (apache2-utils), and a SHA1 entry we refuse.
      writeFileSync(
        file,
        'alice:$2y$05$KWT.nb23bD0MCbTysPkXkOOlM4/fm8g7l/Gqsx2LfqBrJ7zXGv2Cu\nbob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n',
      );
      const h = await Htpasswd.load(file, silentLogger());
      expect(await h.verify('alice', 'secret')).toBe(true);
      expect(await h.verify('alice', 'secret')).toBe(true); // cached
      expect(await h.verify('alice', 'Secret')).toBe(false);
      expect(await h.verify('bob', 'secret')).toBe(false);
      expect(await h.verify('carol', 'secret')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
