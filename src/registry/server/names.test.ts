import { describe, expect, it } from 'vitest';

import { RegistryError } from './errors.js';
import { isRepositoryName, isTag, isUploadId, parseDigest, parseManifestRef } from './names.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as RegistryError).code;
  }
  return 'none';
};

describe('repository names', () => {
  it.each(['a', 'library/busybox', 'a/b/c', 'a-b', 'a--b', 'a_b', 'a__b', 'a.b', 'x0/y1.z2'])(
    'accepts %s',
    (n) => expect(isRepositoryName(n)).toBe(true),
  );
  it.each([
    '',
    'A',
    'a/',
    '/a',
    'a//b',
    '-a',
    'a-',
    'a___b',
    'a..b',
    '_a',
    'a/_layers',
    'a/../b',
    'a:b',
    'a b',
  ])('refuses %j', (n) => expect(isRepositoryName(n)).toBe(false));
  it('caps the length at 255', () => {
    expect(isRepositoryName('a'.repeat(255))).toBe(true);
    expect(isRepositoryName('a'.repeat(256))).toBe(false);
  });
});

describe('tags, digests, references', () => {
  it('tags', () => {
    expect(isTag('latest')).toBe(true);
    expect(isTag('_x.Y-1')).toBe(true);
    expect(isTag('a'.repeat(128))).toBe(true);
    expect(isTag('a'.repeat(129))).toBe(false);
    expect(isTag('.hidden')).toBe(false);
    expect(isTag('-x')).toBe(false);
    expect(isTag('a/b')).toBe(false);
  });

  it('digests: sha256 only, well formed', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseDigest(d)).toBe(d);
    expect(code(() => parseDigest(`sha256:${'A'.repeat(64)}`))).toBe('DIGEST_INVALID');
    expect(code(() => parseDigest('sha256:abc'))).toBe('DIGEST_INVALID');
    expect(code(() => parseDigest(`sha512:${'a'.repeat(128)}`))).toBe('DIGEST_INVALID');
    expect(code(() => parseDigest(null))).toBe('DIGEST_INVALID');
    expect(code(() => parseDigest(''))).toBe('DIGEST_INVALID');
  });

  it('manifest references: a tag or a digest', () => {
    const d = `sha256:${'b'.repeat(64)}`;
    expect(parseManifestRef('v1.0')).toEqual({ kind: 'tag', tag: 'v1.0' });
    expect(parseManifestRef(d)).toEqual({ kind: 'digest', digest: d });
    expect(code(() => parseManifestRef('-bad'))).toBe('TAG_INVALID');
    expect(code(() => parseManifestRef('sha256:zz'))).toBe('DIGEST_INVALID');
  });

  it('upload IDs are 32 hex digits and never paths', () => {
    expect(isUploadId('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isUploadId('../../etc/passwd')).toBe(false);
    expect(isUploadId('0123456789ABCDEF0123456789ABCDEF')).toBe(false);
  });
});
