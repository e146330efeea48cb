/**
 * COPY/ADD `--exclude`, `--parents` and `--link` (BuildKit's flags, which Docker's classic
 * builder refuses): exclusions on the sources as given and inside copied directories (with
 * `!` exceptions), excluded files not part of the cache key; parents kept whole or after a
 * `/./` pivot; `--link` giving the same filesystem as a plain COPY.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type CliResult, type DaemonHandle } from '../../harness/daemon.js';
import { writeContext } from './helpers.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-copyflags-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

function ok(r: CliResult): string {
  if (r.code !== 0)
    throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}\n${d.output().slice(-3000)}`);
  return r.stdout;
}

const build = (args: string[]) =>
  d.cli(['build', ...args], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
const find = (ref: string, dir: string) =>
  ok(d.cli(['run', '--rm', ref, 'sh', '-c', `cd ${dir} && find . | sort`]))
    .trim()
    .split('\n');

describe('COPY --exclude / --parents / --link', () => {
  it('applies them, and leaves excluded files out of the cache key', async () => {
    const dir = await writeContext(tmp, 'flags', {
      Dockerfile: [
        'FROM busybox',
        'COPY --exclude=**/*.log --exclude=!keep.log app /excl/',
        'COPY --exclude=app/b* app/*.* /globexcl/',
        'COPY --parents x/*/f.txt /par/',
        'COPY --parents ./x/./a/f.txt /pivot/',
        'COPY --parents y /pdir/',
        'COPY --link app/a.txt /linked.txt',
        'COPY app/a.txt /plain.txt',
      ].join('\n'),
      'app/a.txt': 'a\n',
      'app/b.log': 'b\n',
      'app/keep.log': 'k\n',
      'app/sub/c.txt': 'c\n',
      'app/sub/d.log': 'd\n',
      'x/a/f.txt': 'xa\n',
      'x/b/f.txt': 'xb\n',
      'y/a/g.txt': 'ya\n',
    });
    ok(build(['-t', 'cf', dir]));
    expect(find('cf', '/excl')).toEqual(['.', './a.txt', './keep.log', './sub', './sub/c.txt']);
    expect(find('cf', '/globexcl')).toEqual(['.', './a.txt', './keep.log']);
    expect(find('cf', '/par')).toEqual([
      '.',
      './x',
      './x/a',
      './x/a/f.txt',
      './x/b',
      './x/b/f.txt',
    ]);
    expect(find('cf', '/pivot')).toEqual(['.', './a', './a/f.txt']);
    expect(find('cf', '/pdir')).toEqual(['.', './y', './y/a', './y/a/g.txt']);
    expect(
      ok(d.cli(['run', '--rm', 'cf', 'sh', '-c', 'stat -c "%a %u %s" /linked.txt /plain.txt'])),
    ).toBe('644 0 2\n644 0 2\n');

    // An excluded file changed: every step still comes from the cache.
    await fsp.writeFile(path.join(dir, 'app/b.log'), 'changed\n');
    await fsp.writeFile(path.join(dir, 'app/sub/d.log'), 'changed\n');
    const again = ok(build(['-t', 'cf2', dir]));
    expect(again.match(/Using cache/g)).toHaveLength(7);
    // An included one: the COPYs that take it miss.
    await fsp.writeFile(path.join(dir, 'app/keep.log'), 'changed\n');
    const third = ok(build(['-t', 'cf3', dir]));
    expect(third).not.toContain('Using cache');
    expect(ok(d.cli(['run', '--rm', 'cf3', 'cat', '/excl/keep.log']))).toBe('changed\n');
  });
});
