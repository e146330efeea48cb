/**
 * `commit`: a container's changes become a new image layer, through the docker CLI,
 * dockerode and wharf. The image runs, keeps the parent's layers, applies --change, and its
 * history names the command. A commit cut by kill -9 of the daemon leaves nothing behind.
 */
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { storeState } from '../images/save-load-helpers.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

function ok(r: { code: number; stdout: string; stderr: string }): string {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

const inspectImage = (ref: string) => JSON.parse(ok(d.cli(['image', 'inspect', ref])))[0];

describe('commit', () => {
  it('makes an image of a stopped container with its changes, deletions and --change', () => {
    const id = ok(
      d.cli([
        'run',
        '--name',
        'to-commit',
        '-e',
        'FROM_RUN=1',
        'busybox',
        'sh',
        '-c',
        'mkdir /app && echo v1 > /app/version && rm /etc/group',
      ]),
    );
    expect(id).toBe('');
    const out = ok(
      d.cli([
        'commit',
        '-m',
        'first commit',
        '-a',
        'Wharf Tests <t@example.com>',
        '-c',
        'CMD ["cat", "/app/version"]',
        '-c',
        'ENV COMMITTED=yes',
        'to-commit',
        'committed:v1',
      ]),
    );
    expect(out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const img = inspectImage('committed:v1');
    const base = inspectImage('busybox');
    expect(img.Id).toBe(out.trim());
    expect(img.RootFS.Layers.slice(0, base.RootFS.Layers.length)).toEqual(base.RootFS.Layers);
    expect(img.RootFS.Layers).toHaveLength(base.RootFS.Layers.length + 1);
    expect(img.Comment).toBe('first commit');
    expect(img.Author).toBe('Wharf Tests <t@example.com>');
    expect(img.Config.Cmd).toEqual(['cat', '/app/version']);
    expect(img.Config.Env).toEqual(expect.arrayContaining(['FROM_RUN=1', 'COMMITTED=yes']));

    expect(ok(d.cli(['run', '--rm', 'committed:v1']))).toBe('v1\n');
    const gone = d.cli(['run', '--rm', 'committed:v1', 'cat', '/etc/group']);
    expect(gone.code).toBe(1); // the deletion is a whiteout in the new layer
    expect(ok(d.cli(['run', '--rm', 'committed:v1', 'cat', '/etc/passwd']))).toMatch(/^root:/);

    const history = JSON.parse(
      ok(d.cli(['history', '--no-trunc', '--format', '{{json .}}', 'committed:v1'])).split(
        '\n',
      )[0]!,
    );
    expect(history.CreatedBy).toBe('sh -c mkdir /app && echo v1 > /app/version && rm /etc/group');
    expect(history.Comment).toBe('first commit');
    d.cli(['rm', 'to-commit']);
  });

  it('commits a running container (paused meanwhile) and a commit of a commit stacks', async () => {
    const id = ok(
      d.cli(['run', '-d', 'busybox', 'sh', '-c', 'echo live > /live; sleep 600']),
    ).trim();
    await new Promise((r) => setTimeout(r, 300));
    const img = await d.docker.getContainer(id).commit({ repo: 'committed', tag: 'live' });
    expect(img.Id).toMatch(/^sha256:/);
    expect(JSON.parse(ok(d.cli(['inspect', id])))[0].State.Status).toBe('running');
    expect(ok(d.cli(['run', '--rm', 'committed:live', 'cat', '/live']))).toBe('live\n');

    const c2 = ok(d.cli(['run', '-d', 'committed:live', 'sh', '-c', 'echo two > /two'])).trim();
    ok(d.cli(['wait', c2]));
    const second = ok(d.wharf(['commit', '--pause=false', c2, 'committed:stacked'])).trim();
    expect(second).toMatch(/^sha256:/);
    expect(ok(d.cli(['run', '--rm', 'committed:stacked', 'cat', '/live', '/two']))).toBe(
      'live\ntwo\n',
    );
    expect(inspectImage('committed:stacked').RootFS.Layers).toHaveLength(
      inspectImage('committed:live').RootFS.Layers.length + 1,
    );
    // Images in use by containers cannot be removed without force; clean up.
    d.cli(['rm', '-f', id, c2]);
    ok(d.cli(['rmi', 'committed:stacked', 'committed:live', 'committed:v1']));
  });

  it('errors as docker does', () => {
    const missing = d.cli(['commit', 'no-such-ctr-c']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No such container: no-such-ctr-c/);
    const bad = d.cli(['commit', '-c', 'BOGUS x', 'no-such-ctr-c']);
    expect(bad.code).not.toBe(0);
  });
});

describe('commit cut short', () => {
  it('kill -9 of the daemon mid-commit leaves no image, blob or layer; a new commit works', async () => {
    ok(
      d.cli([
        'run',
        '--name',
        'cut-commit',
        'busybox',
        'sh',
        '-c',
        'head -c 120000000 /dev/urandom > /big',
      ]),
    );
    const before = storeState(d);
    const req = http.request({
      socketPath: d.socket,
      method: 'POST',
      path: '/v1.45/commit?container=cut-commit&repo=cut&tag=v1',
    });
    req.on('error', () => undefined); // the daemon dies under it
    req.end();
    // Kill once the layer blob is being written (the commit is under way, far from done).
    const ingest = path.join(d.dataRoot, 'content', 'ingest');
    await eventually(
      () => readdirSync(ingest).some((f) => statSync(path.join(ingest, f)).size > 1_000_000),
      30_000,
      'the commit to be writing its layer',
    );
    await d.crash();
    await d.restart();
    expect(storeState(d)).toEqual(before);
    expect(readdirSync(ingest)).toEqual([]);
    ok(d.cli(['commit', 'cut-commit', 'cut:v2']));
    expect(ok(d.cli(['run', '--rm', 'cut:v2', 'sh', '-c', 'wc -c < /big'])).trim()).toBe(
      '120000000',
    );
    ok(d.cli(['rm', 'cut-commit']));
    ok(d.cli(['rmi', 'cut:v2']));
  });
});
