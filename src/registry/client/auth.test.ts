import { describe, expect, it } from 'vitest';

import { Authorizer } from './auth.js';

describe('Authorizer (no network: Basic and given tokens)', () => {
  it('is anonymous until a challenge arrives, then answers Basic with the credentials', async () => {
    const a = new Authorizer({ username: 'u', password: 'p:w' }, true, 'ua');
    expect(await a.header(['repository:x:pull'])).toBeUndefined();
    expect(a.onUnauthorized('Basic realm="r"', [])).toBe(true);
    expect(a.scheme).toBe('basic');
    expect(await a.header([])).toBe(`Basic ${Buffer.from('u:p:w').toString('base64')}`);
    // The same Basic challenge again: the credentials were refused, retrying cannot help.
    expect(a.onUnauthorized('Basic realm="r"', [])).toBe(false);
  });

  it('stays anonymous on a Basic challenge without credentials', async () => {
    const a = new Authorizer(undefined, true, 'ua');
    a.setChallenge('Basic realm="r"');
    expect(a.hasCredentials).toBe(false);
    expect(await a.header([])).toBeUndefined();
  });

  it('sends a registry token as is, and ignores unusable challenges', async () => {
    const a = new Authorizer({ registryToken: 'tok' }, true, 'ua');
    expect(await a.header([])).toBe('Bearer tok');
    const b = new Authorizer(undefined, true, 'ua');
    expect(b.onUnauthorized('Negotiate abc', [])).toBe(false);
    expect(b.onUnauthorized(undefined, [])).toBe(false);
    expect(b.scheme).toBeUndefined();
  });

  it('prefers Bearer over Basic when a registry offers both', () => {
    const a = new Authorizer(undefined, true, 'ua');
    a.setChallenge('Basic realm="b", Bearer realm="http://127.0.0.1:1/token",service="s"');
    expect(a.scheme).toBe('bearer');
  });
});
