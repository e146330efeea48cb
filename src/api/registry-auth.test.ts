import { describe, expect, it } from 'vitest';

import { credentialsOf, decodeRegistryAuth } from './registry-auth.js';

describe('X-Registry-Auth', () => {
  it('decodes base64url and standard base64, with or without padding', () => {
    const json = JSON.stringify({ username: 'u', password: 'p?>~', serveraddress: 'r:5000' });
    for (const enc of [
      Buffer.from(json).toString('base64url'),
      Buffer.from(json).toString('base64'),
    ]) {
      expect(decodeRegistryAuth(enc)).toEqual({
        username: 'u',
        password: 'p?>~',
        serveraddress: 'r:5000',
      });
    }
    expect(decodeRegistryAuth(undefined)).toBeUndefined();
    expect(decodeRegistryAuth('')).toBeUndefined();
  });

  it('rejects what is not base64 JSON', () => {
    expect(() => decodeRegistryAuth('!!!')).toThrow(/invalid X-Registry-Auth header/);
    expect(() => decodeRegistryAuth(Buffer.from('[1]').toString('base64'))).toThrow(
      /not a JSON object/,
    );
  });

  it('turns an AuthConfig into credentials', () => {
    expect(credentialsOf({})).toBeUndefined();
    expect(credentialsOf({ serveraddress: 'x' })).toBeUndefined();
    expect(credentialsOf({ username: 'u', password: 'p' })).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(credentialsOf({ auth: Buffer.from('u:p:q').toString('base64') })).toEqual({
      username: 'u',
      password: 'p:q',
    });
    expect(credentialsOf({ identitytoken: 't' })).toEqual({ identityToken: 't' });
  });
});
