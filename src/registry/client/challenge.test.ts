import { describe, expect, it } from 'vitest';

import { mergeScopes, parseChallenges, repositoryScope } from './challenge.js';

describe('parseChallenges', () => {
  it('parses a bearer challenge with quoted parameters', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull',
        },
      },
    ]);
  });

  it('parses basic, token values, escapes, odd spacing and several challenges', () => {
    expect(parseChallenges('Basic realm="basic-realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'basic-realm' } },
    ]);
    expect(
      parseChallenges('Bearer  REALM = "http://x/t" , service=reg, Basic realm="a \\"b\\""'),
    ).toEqual([
      { scheme: 'bearer', params: { realm: 'http://x/t', service: 'reg' } },
      { scheme: 'basic', params: { realm: 'a "b"' } },
    ]);
    // A scope with several actions keeps its commas inside the quotes.
    expect(parseChallenges('Bearer realm="r",scope="repository:a:pull,push"')[0]!.params).toEqual({
      realm: 'r',
      scope: 'repository:a:pull,push',
    });
  });

  it('never loops or throws on garbage', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('===,,"')).toEqual([]);
    expect(parseChallenges('Bearer realm="unterminated')).toEqual([
      { scheme: 'bearer', params: { realm: 'unterminated' } },
    ]);
  });
});

describe('scopes', () => {
  it('formats repository scopes', () => {
    expect(repositoryScope('library/busybox', ['pull'])).toBe('repository:library/busybox:pull');
    expect(repositoryScope('a/b', ['pull', 'push', 'pull'])).toBe('repository:a/b:pull,push');
  });

  it('merges scopes of the same repository, keeping first-seen order', () => {
    expect(
      mergeScopes([
        'repository:b:push',
        'repository:a:pull',
        'repository:b:pull',
        'registry:catalog:*',
      ]),
    ).toEqual(['repository:b:pull,push', 'repository:a:pull', 'registry:catalog:*']);
    expect(mergeScopes([])).toEqual([]);
  });
});
