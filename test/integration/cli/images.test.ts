/**
 * `wharf` image commands and events against a real wharfd: import (file, stdin, --change),
 * images, tag, rmi, history, the `wharf image …` forms, and events with --since/--until,
 * --filter and --format.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { busyboxRootfsTar, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { blurTimes, expectSame, ok, startWharf, uniq } from './helpers.js';

let d: DaemonHandle;
let tar: string;
beforeAll(async () => {
  d = await startDaemon();
  tar = busyboxRootfsTar();
});
afterAll(async () => {
  await d?.stop();
});

/** A unique repository name; its tags are removed when the test ends. */
function repo(prefix: string): string {
  const r = uniq(prefix);
  onTestFinished(() => {
    const tags = d.cli(['images', r, '--format', '{{.Repository}}:{{.Tag}}']).stdout.split('\n');
    for (const t of tags.filter(Boolean)) d.cli(['rmi', '-f', t]);
  });
  return r;
}

function container(prefix: string): string {
  const n = uniq(prefix);
  onTestFinished(() => {
    d.cli(['rm', '-f', n]);
  });
  return n;
}

const imageId = (ref: string): string =>
  d.wharf(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout.trim();

describe('import', () => {
  it('imports a tarball from a file and prints the image ID', () => {
    const r = repo('imp-file');
    const out = ok(d.wharf(['import', tar, `${r}:v1`]));
    expect(out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(imageId(`${r}:v1`)).toBe(out.trim());
    expect(ok(d.wharf(['run', '--rm', `${r}:v1`, 'echo', 'imported']))).toBe('imported\n');
  });

  it('imports from stdin with "-"', () => {
    const r = repo('imp-stdin');
    const out = ok(d.wharf(['import', '-', r], { input: readFileSync(tar) }));
    expect(out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(ok(d.wharf(['images', '--format', '{{.Repository}}:{{.Tag}}', r]))).toBe(
      `${r}:latest\n`,
    );
  });

  it('-c / --change set the image config; -m the comment', () => {
    const r = repo('imp-change');
    ok(
      d.wharf([
        'image',
        'import',
        '-c',
        'ENV GREETING=hello',
        '--change',
        'CMD ["/bin/sh", "-c", "echo $GREETING from $(/bin/pwd)"]',
        '-c',
        'WORKDIR /tmp',
        '-c',
        'LABEL maintainer=wharf',
        '-m',
        'imported by a test',
        tar,
        r,
      ]),
    );
    expect(ok(d.wharf(['run', '--rm', r]))).toBe('hello from /tmp\n');
    expect(ok(d.wharf(['inspect', '-f', '{{.Config.Labels.maintainer}} {{.Comment}}', r]))).toBe(
      'wharf imported by a test\n',
    );
    // (not {{json .Config}}: docker 28 re-encodes an image config without its empty fields)
    expectSame(d, ['image', 'inspect', '-f', '{{json .Config.Env}} {{.Config.WorkingDir}}', r]);
  });

  it('a bad --change or a missing file fails like docker', () => {
    const r = repo('imp-bad');
    expectSame(d, ['import', '-c', 'FROM busybox', tar, r]);
    expectSame(d, ['import', '/nonexistent/rootfs.tar', r]);
  });
});

it('an image whose Env lacks PATH still runs commands by name', () => {
  const r = repo('imp-path');
  ok(d.wharf(['import', '-c', 'ENV A=b', tar, r]));
  expect(ok(d.wharf(['run', '--rm', r, 'sh', '-c', 'echo $A']))).toBe('b\n');
});

describe('images', () => {
  it('table, -q, --no-trunc, --format and json are identical to docker', () => {
    const r = repo('img-list');
    ok(d.wharf(['tag', 'busybox', `${r}:one`]));
    ok(d.wharf(['tag', 'busybox', `${r}:two`]));
    // docker's CLI walks a Go map for the repositories of one image (busybox and r share it):
    // their row order is random there, so compare the rows as a set.
    // CREATED ("3 seconds ago") may tick between the two commands.
    const rows = (out: string): string[] => blurTimes(out).split('\n').filter(Boolean).sort();
    expect(rows(ok(d.wharf(['images'])))).toEqual(rows(ok(d.cli(['images']))));
    expectSame(d, ['images', r]);
    expectSame(d, ['images', `${r}:one`]);
    expectSame(d, ['images', '-q', r]);
    expectSame(d, ['images', '-q', '--no-trunc', r]);
    expectSame(d, ['images', '--format', '{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}', r]);
    expectSame(d, ['images', '--format', 'table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}', r]);
    expectSame(d, ['images', '--format', 'json', r]);
    expectSame(d, ['image', 'ls', r]);
    expectSame(d, ['image', 'list', '-q', r]);
    expect(ok(d.wharf(['images', '--format', '{{.Repository}}:{{.Tag}}', r]))).toBe(
      `${r}:one\n${r}:two\n`,
    );
    expect(ok(d.wharf(['images', r]))).toMatch(
      /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n\S+ +one +[0-9a-f]{12} +.+ +[\d.]+MB\n/,
    );
  });

  it('--filter reference, dangling, before/since, label', () => {
    const r = repo('img-filter');
    ok(d.wharf(['import', '-c', 'LABEL tier=test', tar, `${r}:lbl`]));
    expectSame(d, ['images', '--filter', `reference=${r}`]);
    expectSame(d, ['images', '--filter', `reference=${r}:*`, '-q']);
    expectSame(d, ['images', '--filter', 'dangling=true', '-q']);
    expectSame(d, ['images', '--filter', 'label=tier=test', '--format', '{{.Repository}}']);
    expect(ok(d.wharf(['images', '--filter', 'label=tier=test', '--format', '{{.Tag}}']))).toBe(
      'lbl\n',
    );
    expectSame(d, ['images', '--filter', 'nonsense=1']);
  });
});

describe('tag and rmi', () => {
  it('tag adds a name; rmi of one of several names only untags', () => {
    const r = repo('tagged');
    expect(ok(d.wharf(['tag', 'busybox', `${r}:a`]))).toBe('');
    expect(ok(d.wharf(['image', 'tag', 'busybox:latest', `${r}:b`]))).toBe('');
    expect(imageId(`${r}:a`)).toBe(imageId('busybox'));
    expect(ok(d.wharf(['rmi', `${r}:a`]))).toBe(`Untagged: ${r}:a\n`);
    expect(ok(d.wharf(['image', 'rm', `${r}:b`]))).toBe(`Untagged: ${r}:b\n`);
    expect(imageId('busybox')).toMatch(/^sha256:/);
  });

  it('rmi of the last name deletes the image', () => {
    const r = repo('deleted');
    const id = ok(d.wharf(['import', '-m', r, tar, r])).trim();
    const out = ok(d.wharf(['rmi', r]));
    expect(out).toBe(`Untagged: ${r}:latest\nDeleted: ${id}\n`);
    expect(d.wharf(['image', 'inspect', id]).code).toBe(1);
  });

  it('refuses an image in use unless forced, like docker', () => {
    const r = repo('inuse');
    ok(d.wharf(['import', '-m', r, tar, r]));
    const c = container('inuse-ctr');
    ok(d.wharf(['create', '--name', c, r, 'true']));
    const id = imageId(r);
    const refusal = d.wharf(['rmi', id]);
    expect(refusal.code).toBe(1);
    expect(refusal.stderr).toMatch(
      /^Error response from daemon: conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is being used by stopped container [0-9a-f]{12}\n$/,
    );
    expectSame(d, ['rmi', id]);
    expectSame(d, ['rmi', 'no-such-image-rmi']);
  });

  it('tag errors are docker', () => {
    expectSame(d, ['tag', 'no-such-image-tag', 'x:y']);
    expectSame(d, ['tag', 'busybox', 'Bad:Name']);
  });
});

describe('history', () => {
  it('is identical to docker', () => {
    const r = repo('hist');
    ok(d.wharf(['import', '-m', 'a comment', '-c', 'CMD ["sh"]', tar, r]));
    for (const ref of ['busybox', r]) {
      expectSame(d, ['history', ref]);
      expectSame(d, ['history', '-q', ref]);
      expectSame(d, ['history', '--no-trunc', ref]);
      expectSame(d, ['history', '-H=false', ref]);
      expectSame(d, ['history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', ref]);
      expectSame(d, ['image', 'history', '--format', 'table {{.ID}}\\t{{.Comment}}', ref]);
    }
    expect(ok(d.wharf(['history', r]))).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n/);
    expectSame(d, ['history', 'no-such-image-hist']);
  });
});

describe('events', () => {
  it('--since/--until replay past events, filtered and formatted like docker', () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const c = container('ev');
    ok(d.wharf(['run', '--name', c, 'busybox', 'true']));
    ok(d.wharf(['rm', c]));
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const window = ['--since', since, '--until', until];
    const actions = ok(
      d.wharf(['events', ...window, '--filter', `container=${c}`, '--format', '{{.Action}}']),
    );
    expect(actions.split('\n').filter(Boolean)).toEqual([
      'create',
      'attach',
      'start',
      'die',
      'destroy',
    ]);
    for (const format of [
      '',
      '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
      '{{json .}}',
      'json',
      '{{.Status}} {{.ID}} {{.From}}',
    ]) {
      const args = ['events', ...window, '--filter', `container=${c}`];
      expectSame(d, format === '' ? args : [...args, '--format', format]);
    }
    expectSame(d, ['events', ...window, '--filter', `container=${c}`, '--filter', 'event=die']);
    expectSame(d, [
      'system',
      'events',
      ...window,
      '--filter',
      'type=container',
      '--filter',
      `container=${c}`,
    ]);
    const line = ok(
      d.wharf(['events', ...window, '--filter', `container=${c}`, '--filter', 'event=start']),
    );
    expect(line).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z container start [0-9a-f]{64} \\(image=busybox, name=${c}\\)\\n$`,
      ),
    );
  });

  it('streams new events until interrupted', async () => {
    const c = container('evlive');
    // --since replays what happened before the stream opened: no race with the first create
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const ev = startWharf(d, [
      'events',
      '--since',
      since,
      '--filter',
      `container=${c}`,
      '--format',
      '{{.Action}} {{.Actor.Attributes.name}}',
    ]);
    try {
      ok(d.wharf(['create', '--name', c, 'busybox', 'true']));
      await ev.waitFor(`create ${c}\n`);
      ok(d.wharf(['start', c]));
      await ev.waitFor(`die ${c}\n`);
      expect(ev.stdout()).toMatch(new RegExp(`^create ${c}\\n(attach ${c}\\n)?start ${c}\\n`));
    } finally {
      ev.kill('SIGINT');
    }
    await ev.exited;
  });

  it('a foreground run emits an attach event', () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const c = container('ev-attach');
    ok(d.wharf(['run', '--name', c, 'busybox', 'true']));
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const out = ok(
      d.wharf(['events', '--since', since, '--until', until, '--filter', `container=${c}`]),
    );
    expect(out).toMatch(/ container attach /);
  });

  it('bad arguments fail like docker', () => {
    // (a value with a dash gets Go's time.Parse error text in docker, not reproduced)
    expectSame(d, ['events', '--since', 'notatime', '--until', '1']);
    expectSame(d, ['events', '--until', '1', '--format', '{{.Nope}}']);
    expectSame(d, ['events', '--until', '1', '--format', '{{.Nope']);
    expectSame(d, ['events', '--filter', 'nonsense=1', '--until', '1']);
  });
});

describe('image prune', () => {
  it('removes dangling images, or with -a every image no container uses; filters apply', async () => {
    const r = repo('img-prune');
    // A dangling image (imported without a name), a tagged one, and one a container uses.
    const dangling = ok(d.cli(['import', '-c', 'LABEL prune=me', tar])).trim();
    ok(d.cli(['import', '-c', 'LABEL keep=1', tar, `${r}:tagged`]));
    ok(d.cli(['import', '-c', 'LABEL used=1', tar, `${r}:used`]));
    const c = container('prune-user');
    ok(d.cli(['create', '--name', c, `${r}:used`, 'true']));

    const first = d.cli(['image', 'prune', '-f']);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`deleted: ${dangling}`);
    expect(first.stdout).toMatch(/Total reclaimed space: [\d.]+[kM]?B\n$/);
    expect(d.cli(['image', 'inspect', dangling]).code).toBe(1);
    ok(d.cli(['image', 'inspect', `${r}:tagged`]));

    // Filters: label! keeps, until in the past matches nothing.
    const kept = d.cli([
      'image',
      'prune',
      '-a',
      '-f',
      '--filter',
      'label!=keep=1',
      '--filter',
      'label=keep',
    ]);
    expect(kept.code).toBe(0);
    ok(d.cli(['image', 'inspect', `${r}:tagged`]));
    const old = d.cli(['image', 'prune', '-a', '-f', '--filter', 'until=2000-01-01T00:00:00Z']);
    expect(old.stdout).not.toContain(r);
    ok(d.cli(['image', 'inspect', `${r}:tagged`]));

    const all = await d.docker.pruneImages({ filters: { dangling: ['false'], label: ['keep=1'] } });
    expect(all.ImagesDeleted).toEqual(expect.arrayContaining([{ Untagged: `${r}:tagged` }]));
    expect(d.cli(['image', 'inspect', `${r}:tagged`]).code).toBe(1);
    ok(d.cli(['image', 'inspect', `${r}:used`])); // a container was created from it

    const bad = d.cli(['image', 'prune', '-f', '--filter', 'colour=red']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid filter 'colour'");
  });
});
