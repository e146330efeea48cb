import { describe, expect, it } from 'vitest';

import { authKey, blobPath, endpointsFor, loginDomain, manifestPath } from './endpoint.js';

const none = { insecureRegistries: [], mirrors: [] };

describe('endpointsFor', () => {
  it('maps docker.io to registry-1 over https, mirrors first for pulls only', () => {
    expect(endpointsFor('docker.io', none, 'pull')).toEqual([
      { base: 'https://registry-1.docker.io', verifyTls: true, mirror: false },
    ]);
    const cfg = {
      insecureRegistries: [],
      mirrors: ['http://127.0.0.1:5001/', 'https://m.example'],
    };
    expect(
      endpointsFor('docker.io', cfg, 'pull').map((e) => [e.base, e.mirror, e.verifyTls]),
    ).toEqual([
      ['http://127.0.0.1:5001', true, false],
      ['https://m.example', true, true],
      ['https://registry-1.docker.io', false, true],
    ]);
    expect(endpointsFor('docker.io', cfg, 'push').map((e) => e.base)).toEqual([
      'https://registry-1.docker.io',
    ]);
  });

  it('tries unverified https, then plain http, for localhost and loopback addresses', () => {
    for (const d of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'localhost']) {
      expect(endpointsFor(d, none, 'pull')).toEqual([
        { base: `https://${d}`, verifyTls: false, mirror: false },
        { base: `http://${d}`, verifyTls: false, mirror: false },
      ]);
    }
  });

  it('tries https without verification then http for insecure registries (names and CIDRs)', () => {
    const cfg = { insecureRegistries: ['reg.lan:5000', '10.1.0.0/16'], mirrors: [] };
    expect(endpointsFor('reg.lan:5000', cfg, 'push')).toEqual([
      { base: 'https://reg.lan:5000', verifyTls: false, mirror: false },
      { base: 'http://reg.lan:5000', verifyTls: false, mirror: false },
    ]);
    expect(endpointsFor('10.1.2.3:443', cfg, 'pull').map((e) => e.base)).toEqual([
      'https://10.1.2.3:443',
      'http://10.1.2.3:443',
    ]);
    expect(endpointsFor('10.2.0.1', cfg, 'pull')).toEqual([
      { base: 'https://10.2.0.1', verifyTls: true, mirror: false },
    ]);
    expect(endpointsFor('reg.lan', cfg, 'pull')[0]!.verifyTls).toBe(true);
  });
});

describe('paths and keys', () => {
  it('builds API paths', () => {
    expect(manifestPath('library/busybox', 'latest')).toBe('/v2/library/busybox/manifests/latest');
    expect(blobPath('a/b', 'sha256:00')).toBe('/v2/a/b/blobs/sha256:00');
  });

  it('names credentials as docker does', () => {
    expect(authKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(authKey('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(loginDomain('')).toBe('docker.io');
    expect(loginDomain('https://index.docker.io/v1/')).toBe('docker.io');
    expect(loginDomain('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
    expect(loginDomain('reg.example.com')).toBe('reg.example.com');
  });
});
