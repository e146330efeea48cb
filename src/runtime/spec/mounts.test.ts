import { describe, expect, it } from 'vitest';

import { parseSize, parseTmpfsOptions, tmpfsMounts } from './mounts.js';

describe('parseTmpfsOptions', () => {
  it("starts from Docker's defaults", () => {
    expect(parseTmpfsOptions('')).toEqual({ options: ['noexec', 'nosuid', 'nodev', 'rprivate'] });
  });

  it('parses size and mode and lets the last conflicting flag win', () => {
    const r = parseTmpfsOptions('size=64m,mode=1777,exec');
    expect(r.sizeBytes).toBe(64 * 1024 * 1024);
    expect(r.mode).toBe(0o1777);
    expect(r.options).toEqual(['nosuid', 'nodev', 'rprivate', 'size=64m', 'mode=1777', 'exec']);
    expect(parseTmpfsOptions('size=1k,size=2g').sizeBytes).toBe(2 * 1024 ** 3);
    expect(parseTmpfsOptions('noexec').options).toEqual(['nosuid', 'nodev', 'rprivate', 'noexec']);
    expect(parseTmpfsOptions('size=50%').sizeBytes).toBeUndefined();
  });

  it('rejects nonsense', () => {
    expect(() => parseTmpfsOptions('bogus')).toThrow('invalid tmpfs option "bogus"');
    expect(() => parseTmpfsOptions('size=lots')).toThrow('invalid tmpfs size');
    expect(() => parseTmpfsOptions('mode=999')).toThrow('invalid tmpfs mode');
  });

  it('sizes', () => {
    expect(parseSize('512k')).toBe(524288);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('100')).toBe(100);
  });

  it('builds mounts sorted parents first', () => {
    const m = tmpfsMounts({ '/run/a/b': '', '/run': 'size=1m' });
    expect(m.map((x) => x.destination)).toEqual(['/run', '/run/a/b']);
    expect(m[0]).toMatchObject({ type: 'tmpfs', source: 'tmpfs' });
    expect(() => tmpfsMounts({ rel: '' })).toThrow('must be absolute');
  });
});
