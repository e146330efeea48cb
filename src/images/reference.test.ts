import { describe, expect, it } from 'vitest';

import {
  familiarMatch,
  familiarString,
  parseAnyReference,
  parseNormalizedNamed,
  referenceString,
  repoTagReference,
  tagNameOnly,
} from './reference.js';

const HEX = 'a'.repeat(64);

describe('parseNormalizedNamed', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox', 'busybox'],
    ['busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['docker.io/busybox', 'docker.io/library/busybox', 'busybox'],
    ['user/app', 'docker.io/user/app', 'user/app'],
    ['localhost/app', 'localhost/app', 'localhost/app'],
    ['localhost:5000/x', 'localhost:5000/x', 'localhost:5000/x'],
    ['localhost:5000/x/y:v1', 'localhost:5000/x/y:v1', 'localhost:5000/x/y:v1'],
    [
      'registry.example.com/a/b/c:t',
      'registry.example.com/a/b/c:t',
      'registry.example.com/a/b/c:t',
    ],
    ['[::1]:5000/app', '[::1]:5000/app', '[::1]:5000/app'],
    ['Registry.Example.com/app', 'Registry.Example.com/app', 'Registry.Example.com/app'],
    ['a-b__c.d/e', 'a-b__c.d/e', 'a-b__c.d/e'],
    ['my_app', 'docker.io/library/my_app', 'my_app'],
    [`busybox@sha256:${HEX}`, `docker.io/library/busybox@sha256:${HEX}`, `busybox@sha256:${HEX}`],
    [
      `busybox:1@sha256:${HEX}`,
      `docker.io/library/busybox:1@sha256:${HEX}`,
      `busybox:1@sha256:${HEX}`,
    ],
  ])('%s', (input, full, familiar) => {
    const ref = parseNormalizedNamed(input);
    expect(referenceString(ref)).toBe(full);
    expect(familiarString(ref)).toBe(familiar);
  });

  it.each([
    ['', 'invalid reference format'],
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['user/App:tag', 'invalid reference format: repository name (user/App) must be lowercase'],
    [HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`],
    ['busybox:', 'invalid reference format'],
    ['busybox:-tag', 'invalid reference format'],
    ['-busybox', 'invalid reference format'],
    ['busy..box', 'invalid reference format'],
    ['a/b/', 'invalid reference format'],
    [`a:${'t'.repeat(129)}`, 'invalid reference format'],
    [`${'a'.repeat(256)}`, 'repository name must not be more than 255 characters'],
    ['busybox@sha256:abc', 'invalid reference format'],
  ])('rejects %j', (input, message) => {
    expect(() => parseNormalizedNamed(input)).toThrow(message);
    try {
      parseNormalizedNamed(input);
    } catch (err) {
      expect(err).toMatchObject({ kind: 'invalid-argument', message });
    }
  });
});

describe('parseAnyReference and friends', () => {
  it('recognises IDs', () => {
    expect(parseAnyReference(HEX)).toEqual({ kind: 'id', id: `sha256:${HEX}` });
    expect(parseAnyReference(`sha256:${HEX}`)).toEqual({ kind: 'id', id: `sha256:${HEX}` });
    // a short sha256:… is a name "sha256" with a tag, as in docker; resolve then tries it as a prefix
    expect(parseAnyReference('sha256:abcd')).toMatchObject({
      kind: 'named',
      ref: { path: 'library/sha256', tag: 'abcd' },
    });
  });

  it('adds the default tag only when neither tag nor digest is present', () => {
    expect(familiarString(tagNameOnly(parseNormalizedNamed('busybox')))).toBe('busybox:latest');
    expect(familiarString(tagNameOnly(parseNormalizedNamed(`busybox@sha256:${HEX}`)))).toBe(
      `busybox@sha256:${HEX}`,
    );
  });

  it('repoTagReference validates like docker tag / import', () => {
    expect(familiarString(repoTagReference('busybox'))).toBe('busybox:latest');
    expect(familiarString(repoTagReference('busybox', 'v1'))).toBe('busybox:v1');
    expect(familiarString(repoTagReference('localhost:5000/x:old', 'new'))).toBe(
      'localhost:5000/x:new',
    );
    expect(() => repoTagReference('busybox', 'bad tag')).toThrow('invalid tag format');
    expect(() => repoTagReference(`busybox@sha256:${HEX}`)).toThrow(
      'cannot import digest reference',
    );
    expect(() => repoTagReference('sha256', 'x')).toThrow(/ambiguous tag/);
    expect(() => repoTagReference('UPPER')).toThrow('must be lowercase');
  });

  it('familiarMatch follows path.Match on the familiar form', () => {
    const ref = parseNormalizedNamed('localhost:5000/team/app:1.0');
    expect(familiarMatch('localhost:5000/team/*', ref)).toBe(true);
    expect(familiarMatch('localhost:5000/*', ref)).toBe(false);
    expect(familiarMatch('*:1.?', ref)).toBe(false);
    const bb = parseNormalizedNamed('busybox:latest');
    expect(familiarMatch('busy*', bb)).toBe(true);
    expect(familiarMatch('busybox:l[a-z]test', bb)).toBe(true);
    expect(familiarMatch('busybox:v*', bb)).toBe(false);
  });
});
