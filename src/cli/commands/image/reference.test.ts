import { describe, expect, it } from 'vitest';

import { normalizeRef } from './reference.js';

describe('normalizeRef', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/library/x', 'docker.io/library/x:latest'],
    ['127.0.0.1:5000/a/b', '127.0.0.1:5000/a/b:latest'],
    ['127.0.0.1:5000/a:t', '127.0.0.1:5000/a:t'],
    ['localhost/x@sha256:' + 'a'.repeat(64), 'localhost/x@sha256:' + 'a'.repeat(64)],
  ])('%s → %s', (ref, want) => expect(normalizeRef(ref)).toBe(want));
});
