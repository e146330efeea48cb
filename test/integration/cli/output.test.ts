/**
 * What `wharf` prints, side by side with the docker CLI on the same daemon: version, info,
 * ps tables and --format, inspect templates, usage and error messages, exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { expectSame, ok, uniq } from './helpers.js';

let d: DaemonHandle;
/** Containers every test here lists: a running one with labels and env, an exited one. */
let running: string;
let exited: string;
beforeAll(async () => {
  d = await startDaemon();
  running = uniq('out-run');
  exited = uniq('out-exit');
  ok(
    d.wharf([
      'run',
      '-d',
      '--name',
      running,
      '-l',
      'a=1',
      '-l',
      'b=two',
      '-e',
      'FOO=bar',
      'busybox',
      'sleep',
      '600',
    ]),
  );
  expect(d.wharf(['run', '--name', exited, 'busybox', 'sh', '-c', 'exit 2']).code).toBe(2);
});
afterAll(async () => {
  d?.cli(['rm', '-f', running, exited]);
  await d?.stop();
});

describe('version and info', () => {
  it('version shows client and server', () => {
    const out = ok(d.wharf(['version']));
    expect(out).toMatch(/^Client:\n Version: +0\.1\.0\n API version: +1\.\d+\n/);
    expect(out).toMatch(/\nServer: Wharf Engine\n Engine:\n {2}Version: +0\.1\.0\n/);
    expect(out.endsWith('\n')).toBe(true);
    expect(ok(d.wharf(['version', '--format', '{{.Server.Version}}']))).toBe('0.1.0\n');
    expect(ok(d.wharf(['version', '-f', '{{.Client.Version}}']))).toBe('0.1.0\n');
    expect(JSON.parse(ok(d.wharf(['version', '--format', 'json']))).Server.Version).toBe('0.1.0');
    expect(ok(d.wharf(['--version']))).toMatch(/^Wharf version 0\.1\.0, build /);
    expect(ok(d.wharf(['-v']))).toMatch(/^Wharf version 0\.1\.0/);
  });

  it('version --format on server fields matches docker', () => {
    expectSame(d, [
      'version',
      '--format',
      '{{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}',
    ]);
    expectSame(d, ['version', '--format', '{{.Server.Version}} {{.Server.GitCommit}}']);
    expectSame(d, ['version', '--format', '{{range .Server.Components}}{{.Name}} {{end}}']);
  });

  it('info prints the server summary', () => {
    const out = ok(d.wharf(['info']));
    expect(out).toMatch(/^Client:\n/);
    expect(out).toMatch(
      /\nServer:\n Containers: \d+\n {2}Running: \d+\n {2}Paused: \d+\n {2}Stopped: \d+\n Images: \d+\n/,
    );
    expect(out).toMatch(/ Docker Root Dir: /);
    expectSame(d, ['info', '--format', '{{.Containers}} {{.ContainersRunning}} {{.Images}}']);
    expectSame(d, ['info', '--format', '{{.OperatingSystem}}|{{.DockerRootDir}}|{{.Driver}}']);
    expectSame(d, ['info', '--format', '{{json .Plugins}}']);
    expectSame(d, ['system', 'info', '--format', '{{.ServerVersion}}']);
    expectSame(d, ['info', '--format', '{{.Nope}}']);
    expectSame(d, ['info', '--format', '{{.Nope']);
  });

  it('an unreachable daemon is reported like docker (exit 1)', () => {
    const r = d.wharf(['-H', 'unix:///nonexistent/wharf.sock', 'ps']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Cannot connect to the Wharf daemon at unix:\/\/\/nonexistent\/wharf.sock\. Is the wharf daemon running\?\n$/,
    );
  });
});

describe('ps', () => {
  const filters = (): string[][] => [
    ['--filter', `name=${running}`],
    ['--filter', `name=${exited}`],
  ];

  it('default table, -a, -q, --no-trunc are identical to docker', () => {
    for (const f of filters()) {
      expectSame(d, ['ps', ...f]);
      expectSame(d, ['ps', '-a', ...f]);
      expectSame(d, ['ps', '-aq', ...f]);
      expectSame(d, ['ps', '-a', '--no-trunc', ...f]);
    }
    const table = ok(d.wharf(['ps', '--filter', `name=${running}`]));
    expect(table).toMatch(
      /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n[0-9a-f]{12} +busybox +"sleep 600" +.* ago +Up .*/,
    );
    expect(ok(d.wharf(['ps', '-q', '--filter', `name=${exited}`]))).toBe('');
    expect(ok(d.wharf(['ps', '-aq', '--filter', `name=${exited}`]))).toMatch(/^[0-9a-f]{12}\n$/);
    expect(ok(d.wharf(['ps', '-aq', '--no-trunc', '--filter', `name=${exited}`]))).toMatch(
      /^[0-9a-f]{64}\n$/,
    );
  });

  it('--filter by label, status, exited, id, ancestor', () => {
    expect(ok(d.wharf(['ps', '--filter', 'label=a=1', '--format', '{{.Names}}']))).toBe(
      `${running}\n`,
    );
    expect(
      ok(
        d.wharf([
          'ps',
          '-a',
          '--filter',
          'status=exited',
          '--filter',
          `name=${exited}`,
          '--format',
          '{{.Names}}',
        ]),
      ),
    ).toBe(`${exited}\n`);
    expect(ok(d.wharf(['ps', '-a', '--filter', 'exited=2', '--format', '{{.Names}}']))).toContain(
      `${exited}\n`,
    );
    expectSame(d, ['ps', '-a', '--filter', 'label=b', '--format', '{{.Names}}']);
    expectSame(d, ['ps', '-a', '--filter', 'ancestor=busybox', '-q']);
    expectSame(d, ['ps', '-a', '--filter', 'status=running', '--filter', 'label=a', '-q']);
    const bad = d.wharf(['ps', '--filter', 'nonsense=1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(d.cli(['ps', '--filter', 'nonsense=1']).stderr);
  });

  it('--format templates, table templates and json are identical to docker', () => {
    for (const f of filters()) {
      for (const format of [
        '{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.State}} {{.Status}}',
        '{{.Label "a"}}|{{.Label "b"}}|{{.Labels}}',
        '{{.Names}}\\t{{.Networks}}\\t{{.Mounts}}\\t{{.Ports}}',
        'table {{.ID}}\\t{{.Names}}\\t{{.Status}}',
        'table {{.Names}}\\t{{.Label "a"}}',
        'table',
        '{{json .Labels}} {{upper .Names}} {{len .Names}}',
        '{{if eq .State "running"}}up{{else}}down{{end}}',
        '{{.RunningFor}} {{.CreatedAt}}',
      ]) {
        expectSame(d, ['ps', '-a', ...f, '--format', format]);
      }
    }
  });

  it('--format json prints one object per line, as docker', () => {
    const out = ok(d.wharf(['ps', '-a', '--filter', `name=${running}`, '--format', 'json']));
    const obj = JSON.parse(out) as Record<string, unknown>;
    expect(obj['Names']).toBe(running);
    expect(obj['Labels']).toBe('a=1,b=two');
    expectSame(d, ['ps', '-a', '--filter', `name=${running}`, '--format', 'json']);
  });

  it('a template error is reported like docker', () => {
    expectSame(d, ['ps', '--format', '{{.Nope}}']);
    expectSame(d, ['ps', '--format', '{{.Names']);
    expectSame(d, ['ps', '-a', '--format', '{{.Names}} {{.Label "a"}} {{.Nope}}']);
  });
});

describe('inspect', () => {
  it('prints a JSON array by default, identical to docker', () => {
    const arr = JSON.parse(ok(d.wharf(['inspect', running]))) as Array<Record<string, unknown>>;
    expect(arr).toHaveLength(1);
    expect(arr[0]!['Name']).toBe(`/${running}`);
    expectSame(d, ['inspect', running, exited]);
    expectSame(d, ['container', 'inspect', running]);
  });

  it('-f templates are identical to docker', () => {
    for (const format of [
      '{{.State.Status}}',
      '{{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}',
      '{{json .Config.Labels}}',
      '{{json .State}}',
      '{{.State.Health}} {{.Config.Healthcheck}}',
      '{{range .Config.Env}}{{.}} {{end}}',
      '{{index .Config.Labels "a"}}',
      '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}',
      '{{.Config.Cmd}} {{.Config.Entrypoint}} {{.Path}} {{.Args}}',
      '{{.Name}} {{.Id}} {{.Image}}',
      '{{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}}',
      '{{with .State}}{{.Status}}{{end}}',
      '{{.NetworkSettings.IPAddress}}',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      '{{lower .State.Status}} {{title .State.Status}} {{split .Name "/"}} {{join .Config.Cmd ","}}',
      '{{printf "%s-%d" .State.Status .State.ExitCode}}',
      'json',
    ]) {
      for (const ref of [running, exited]) expectSame(d, ['inspect', '-f', format, ref]);
    }
    expect(ok(d.wharf(['inspect', '-f', '{{.State.Status}}', running, exited]))).toBe(
      'running\nexited\n',
    );
    expect(
      ok(d.wharf(['inspect', '--format', '{{range .Config.Env}}{{.}} {{end}}', running])),
    ).toMatch(/FOO=bar /);
    expect(ok(d.wharf(['inspect', '-f', '{{index .Config.Labels "a"}}', running]))).toBe('1\n');
  });

  it('--type, images, and missing objects', () => {
    expectSame(d, ['inspect', '--type', 'image', '-f', '{{.Os}} {{.Architecture}}', 'busybox']);
    expectSame(d, ['inspect', '-f', '{{json .Config.Cmd}}', 'busybox']);
    expectSame(d, ['image', 'inspect', '-f', '{{.RootFS.Type}}', 'busybox']);
    expectSame(d, ['inspect', 'no-such-thing']);
    expectSame(d, ['inspect', '-f', '{{.Name}}', running, 'no-such-thing']);
    expectSame(d, ['container', 'inspect', 'busybox']);
    expectSame(d, ['image', 'inspect', running]);
    expectSame(d, ['inspect', '--type', 'container', 'busybox']);
  });

  it('{{json .Config}} is identical to docker', () => {
    expectSame(d, ['inspect', '-f', '{{json .Config}}', running]);
  });

  it('a missing key is an error, as docker', () => {
    expectSame(d, ['inspect', '-f', '{{.Nope}}', running]);
    expectSame(d, ['inspect', '-f', '{{.State.Nope}}', running]);
    expectSame(d, ['inspect', '-f', '{{.Nope}}', running, exited]);
    expectSame(d, ['inspect', '-f', '{{.Name}}', running, 'busybox']);
    expectSame(d, ['inspect', '-f', '{{.Name', running]);
  });
});

describe('usage and errors', () => {
  it('unknown commands and flags', () => {
    expectSame(d, ['no-such-command']);
    expectSame(d, ['container', 'no-such-sub']);
    expectSame(d, ['ps', '--no-such-flag']);
    expectSame(d, ['--no-such-global', 'ps']);
    expectSame(d, ['run', '--no-such-flag', 'busybox']);
  });

  it('argument counts: the usage, and docker exit codes', () => {
    for (const args of [
      ['ps', 'extra'],
      ['logs'],
      ['rename', 'one'],
      ['tag', 'one'],
      ['wait'],
      ['run'],
      ['create'],
      ['exec', running],
      ['rm'],
      ['rmi'],
      ['history'],
    ]) {
      expectSame(d, args);
    }
    // docker 28 prints "SRun 'docker images --help'" here (a typo); wharf says "See".
    const max = d.wharf(['images', 'a', 'b']);
    expect(max.code).toBe(1);
    expect(max.stderr).toBe(
      "wharf: 'wharf images' requires at most 1 argument\n\nUsage:  wharf images [OPTIONS] [REPOSITORY[:TAG]]\n\nSee 'wharf images --help' for more information\n",
    );
  });

  it('--help prints the usage and exits 0', () => {
    const r = d.wharf(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^\nUsage: {2}wharf run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]\n/,
    );
    expect(r.stdout).toMatch(
      / {2}-d, --detach +Run container in background and print container ID/,
    );
    const top = d.wharf(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Management Commands:\n {2}container +Manage containers/);
    expect(d.wharf(['container', '--help']).stdout).toMatch(/^\nUsage: {2}wharf container COMMAND/);
  });
});
