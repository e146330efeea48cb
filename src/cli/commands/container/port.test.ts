import { describe, expect, it } from 'vitest';

import { naturalCompare } from './port.js';

describe('naturalCompare (docker port order)', () => {
  it('compares digit runs as numbers and the rest byte by byte', () => {
    expect(
      [
        '8080/tcp -> [::]:1',
        '80/tcp -> [::]:40000',
        '80/tcp -> 127.0.0.1:5',
        '80/tcp -> 0.0.0.0:40000',
        '443/tcp -> 0.0.0.0:9',
      ].sort(naturalCompare),
    ).toEqual([
      '80/tcp -> 0.0.0.0:40000',
      '80/tcp -> 127.0.0.1:5',
      '80/tcp -> [::]:40000',
      '443/tcp -> 0.0.0.0:9',
      '8080/tcp -> [::]:1',
    ]);
  });
});
