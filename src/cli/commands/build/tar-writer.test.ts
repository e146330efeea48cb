import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { END_OF_ARCHIVE, entryHeader, padding } from './tar-writer.js';

describe('tar writer', () => {
  it('writes archives GNU tar reads, long names and link targets through pax', () => {
    const long = `${'d'.repeat(80)}/${'f'.repeat(60)}.txt`;
    const body = Buffer.from('hello\n');
    const mtime = new Date('2024-01-02T03:04:05Z');
    const tar = Buffer.concat([
      entryHeader({ name: 'dir', type: 'dir', mode: 0o40755, size: 0, mtime }),
      entryHeader({ name: 'dir/a.txt', type: 'file', mode: 0o100640, size: body.length, mtime }),
      body,
      padding(body.length),
      entryHeader({ name: long, type: 'file', mode: 0o644, size: 0, mtime }),
      entryHeader({
        name: 'dir/hard',
        type: 'link',
        mode: 0o640,
        size: 0,
        mtime,
        linkname: 'dir/a.txt',
      }),
      entryHeader({
        name: 'sym',
        type: 'symlink',
        mode: 0o777,
        size: 0,
        mtime,
        linkname: `/${long}`,
      }),
      END_OF_ARCHIVE,
    ]);
    const r = spawnSync('tar', ['-tv', '--numeric-owner', '--full-time', '-f', '-'], {
      input: tar,
    });
    expect(r.stderr.toString()).toBe('');
    const lines = r.stdout.toString().trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0 +0 2024-01-02 03:04:05 dir\/$/);
    expect(lines[1]).toMatch(/^-rw-r----- 0\/0 +6 .* dir\/a\.txt$/);
    expect(lines[2]).toContain(long);
    expect(lines[3]).toMatch(/^hrw-r----- .* dir\/hard link to dir\/a\.txt$/);
    expect(lines[4]).toContain(`sym -> /${long}`);
  });
});
