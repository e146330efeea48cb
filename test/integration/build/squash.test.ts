/**
 * `--squash` (`squash=1` on POST /build): the base's layers plus one layer with everything
 * the build changed (files added then deleted in later steps leave no trace; deletions of
 * the base's files are whiteouts), history kept with the steps marked empty and a
 * `merge <built> to <base>` entry, as Docker's SquashImage. (Docker needs an experimental
 * daemon for this, so it is checked on its own terms here, not against dockerd.)
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type CliResult, type DaemonHandle } from '../../harness/daemon.js';
import { flatten, savedLayers, type Cli } from './compare-helpers.js';
import { writeContext } from './helpers.js';

let d: DaemonHandle;
let tmp: string;
let cli: Cli;
beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-squash-'));
  cli = (a) => d.cli(a, { timeoutMs: 120_000 });
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

const DOCKERFILE = [
  'FROM busybox',
  'RUN echo a > /added && echo tmp > /tmpfile && mkdir -p /dir/sub && echo x > /dir/x && echo y > /dir/sub/y',
  'RUN rm /tmpfile /etc/shadow && rm -r /home/wharf /dir/sub',
  'COPY f /dir/f',
  'RUN rm /dir/x && ln -s /added /link',
  'ENV K=v',
  'CMD ["cat", "/added"]',
].join('\n');

describe('build --squash', () => {
  it('puts one layer on the base: adds, whiteouts for the base only, history as Docker', async () => {
    const dir = await writeContext(tmp, 'squash', { Dockerfile: DOCKERFILE, f: 'copied\n' });
    ok(d.wharf(['build', '--progress-plain', '-t', 'plain-build', dir], { timeoutMs: 120_000 }));
    const out = ok(
      d.wharf(['build', '--progress-plain', '--squash', '-t', 'squashed', dir], {
        timeoutMs: 120_000,
      }),
    );
    const squashedId = /Successfully built ([0-9a-f]{12})/.exec(out)![1]!;

    const base = await savedLayers(cli, 'busybox', tmp);
    const layers = await savedLayers(cli, 'squashed', tmp);
    expect(layers).toHaveLength(base.length + 1);
    const top = [...layers.at(-1)!.keys()].sort();
    expect(top).toEqual([
      'added',
      'dir',
      'dir/f',
      'etc',
      'etc/.wh.shadow',
      'home',
      'home/.wh.wharf',
      'link',
    ]);
    // The same filesystem as the unsquashed build.
    const plain = await savedLayers(cli, 'plain-build', tmp);
    expect(flatten(layers)).toEqual(flatten(plain));

    // Same config; history: the steps kept but marked empty, and the merge entry.
    const inspect = (ref: string) => JSON.parse(ok(cli(['image', 'inspect', ref])))[0];
    const sq = inspect('squashed');
    expect(sq.Config).toEqual(inspect('plain-build').Config);
    expect(sq.Id.slice(7, 19)).toBe(squashedId);
    const history = await d.docker.getImage('squashed').history();
    const baseId = inspect('busybox').Id as string;
    // The image as built (kept, as Docker keeps it): the same steps from the cache, so the
    // same image as the plain build.
    const builtId = inspect('plain-build').Id as string;
    expect(history[0]!.Comment).toBe(`merge ${builtId} to ${baseId}`);
    // Newest first: the merge layer, the build's steps (now empty), the base's import.
    expect(history.map((h: { Size: number }) => h.Size > 0)).toEqual([
      true,
      ...history.slice(2).map(() => false),
      true,
    ]);
    expect(history.map((h: { CreatedBy: string }) => h.CreatedBy).slice(1, 3)).toEqual([
      '/bin/sh -c #(nop)  CMD ["cat" "/added"]',
      '/bin/sh -c #(nop)  ENV K=v',
    ]);
    expect(ok(cli(['run', '--rm', 'squashed']))).toBe('a\n');
    expect(
      ok(cli(['run', '--rm', 'squashed', 'sh', '-c', 'ls /dir; test -e /etc/shadow || echo gone'])),
    ).toBe('f\ngone\n');
  });

  it('squashes a build FROM scratch into one layer with "create new from"', async () => {
    const dir = await writeContext(tmp, 'scratch', {
      Dockerfile: 'FROM scratch\nCOPY a /a\nCOPY b /b\n',
      a: 'a\n',
      b: 'b\n',
    });
    ok(
      d.wharf(['build', '--progress-plain', '--squash', '-t', 'squashed-scratch', dir], {
        timeoutMs: 120_000,
      }),
    );
    const layers = await savedLayers(cli, 'squashed-scratch', tmp);
    expect(layers).toHaveLength(1);
    expect([...layers[0]!.keys()].sort()).toEqual(['a', 'b']);
    const history = await d.docker.getImage('squashed-scratch').history();
    expect(history[0]!.Comment).toMatch(/^create new from sha256:[0-9a-f]{64}$/);
  });
});
