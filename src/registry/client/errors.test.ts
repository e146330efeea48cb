import { describe, expect, it } from 'vitest';

import { describeRegistryError } from './errors.js';

describe('describeRegistryError', () => {
  it('prints registry error codes as docker does', () => {
    const body = Buffer.from(
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}',
    );
    expect(describeRegistryError(404, 'Not Found', body)).toBe(
      'manifest unknown: manifest unknown',
    );
    expect(
      describeRegistryError(
        401,
        'Unauthorized',
        Buffer.from('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'),
      ),
    ).toBe('unauthorized: authentication required');
  });

  it('falls back to the status line, with short plain-text bodies', () => {
    expect(describeRegistryError(502, 'Bad Gateway', Buffer.from('<html>…</html>'))).toBe(
      '502 Bad Gateway',
    );
    expect(describeRegistryError(400, 'Bad Request', Buffer.from('nope\n'))).toBe(
      '400 Bad Request: nope',
    );
  });
});
