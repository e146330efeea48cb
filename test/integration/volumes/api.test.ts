/**
 * The volumes API and `volume` commands: create/ls/inspect/rm/prune, filters, driver
 * options, errors, through the docker CLI, dockerode, raw HTTP and wharf.
 */
import http from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

const ok = (args: string[], input?: string): string => {
  const r = d.cli(args, input === undefined ? {} : { input });
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

/** A raw API call (version prefix chosen by the test). */
function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: d.socket,
        path,
        method,
        agent: false,
        headers: data
          ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }
          : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: parseBody(text) }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** JSON bodies parsed; others (/_ping's "OK") kept as text. */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

describe('volume create / inspect / ls / rm', () => {
  it('creates with labels and options, inspects in Docker shape, lists as docker does', () => {
    const name = uniq('alpha');
    expect(ok(['volume', 'create', '--label', 'team=a', '--label', 'tier', name])).toBe(
      `${name}\n`,
    );
    const v = JSON.parse(ok(['volume', 'inspect', name]))[0];
    expect(Object.keys(v)).toEqual([
      'CreatedAt',
      'Driver',
      'Labels',
      'Mountpoint',
      'Name',
      'Options',
      'Scope',
    ]);
    expect(v).toMatchObject({
      Driver: 'local',
      Labels: { team: 'a', tier: '' },
      Mountpoint: `${d.dataRoot}/volumes/${name}/_data`,
      Name: name,
      Options: {},
      Scope: 'local',
    });
    expect(v.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ok(['volume', 'inspect', '-f', '{{.Driver}} {{.Labels.team}}', name])).toBe('local a\n');
    // Creating again returns the same volume.
    expect(ok(['volume', 'create', name])).toBe(`${name}\n`);
    const table = ok(['volume', 'ls', '--filter', `name=${name}`]);
    expect(table).toBe(`DRIVER    VOLUME NAME\nlocal     ${name}\n`);
    // docker walks the label map in Go's random order: compare as sets.
    const [n, labels, scope] = ok([
      'volume',
      'ls',
      '--filter',
      `name=${name}`,
      '--format',
      '{{.Name}}|{{.Labels}}|{{.Scope}}',
    ])
      .trim()
      .split('|');
    expect([n, labels!.split(',').sort(), scope]).toEqual([name, ['team=a', 'tier='], 'local']);
    expect(ok(['volume', 'rm', name])).toBe(`${name}\n`);
    const gone = d.cli(['volume', 'inspect', name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`get ${name}: no such volume`);
  });

  it('a volume without a name gets a random one; -q lists names sorted', () => {
    const anon = ok(['volume', 'create']).trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    const a = uniq('vq');
    ok(['volume', 'create', `${a}-10`]);
    ok(['volume', 'create', `${a}-9`]);
    const names = ok(['volume', 'ls', '-q']).split('\n').filter(Boolean);
    expect(names.indexOf(`${a}-9`)).toBeLessThan(names.indexOf(`${a}-10`));
    expect(names).toContain(anon);
    ok(['volume', 'rm', anon, `${a}-10`, `${a}-9`]);
  });

  it('refuses bad names, drivers and options with Docker messages', () => {
    const bad = d.cli(['volume', 'create', 'x/y']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'create x/y: "x/y" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    );
    expect(d.cli(['volume', 'create', '-d', 'nfsplug', 'vv']).stderr).toContain(
      'create vv: error looking up volume plugin nfsplug: plugin "nfsplug" not found',
    );
    expect(d.cli(['volume', 'create', '-o', 'color=red', 'vv']).stderr).toContain(
      'create vv: invalid option: "color"',
    );
    expect(d.cli(['volume', 'create', '-o', 'type=tmpfs', 'vv']).stderr).toContain(
      'create vv: missing required option: "device"',
    );
    expect(d.cli(['volume', 'ls', '-q']).stdout.split('\n')).not.toContain('vv');
  });

  it('rm: missing volume is 404 unless -f; in use is 409 even with -f', async () => {
    const missing = d.cli(['volume', 'rm', 'nope-vol']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('get nope-vol: no such volume');
    expect(ok(['volume', 'rm', '-f', 'nope-vol'])).toBe('nope-vol\n');
    const name = uniq('busy');
    const c = ok(['create', '-v', `${name}:/d`, 'busybox', 'true']).trim();
    const r = d.cli(['volume', 'rm', '-f', name]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`remove ${name}: volume is in use - [${c}]`);
    const res = await api('DELETE', `/v1.45/volumes/${name}`);
    expect(res).toEqual({
      status: 409,
      json: { message: `remove ${name}: volume is in use - [${c}]` },
    });
    ok(['rm', c]);
    ok(['volume', 'rm', name]);
  });
});

describe('filters', () => {
  it('dangling, name, label, driver', () => {
    const p = uniq('flt');
    ok(['volume', 'create', '--label', 'env=prod', `${p}-a`]);
    ok(['volume', 'create', '--label', 'env=dev', `${p}-b`]);
    const c = ok(['create', '-v', `${p}-a:/a`, 'busybox', 'true']).trim();
    const ls = (...f: string[]): string[] =>
      ok(['volume', 'ls', '-q', ...f.flatMap((x) => ['--filter', x])])
        .split('\n')
        .filter((n) => n.startsWith(p));
    expect(ls(`name=${p}`)).toEqual([`${p}-a`, `${p}-b`]);
    expect(ls(`name=${p}`, 'dangling=true')).toEqual([`${p}-b`]);
    expect(ls(`name=${p}`, 'dangling=false')).toEqual([`${p}-a`]);
    expect(ls('label=env=prod')).toEqual([`${p}-a`]);
    expect(ls('label=env')).toEqual([`${p}-a`, `${p}-b`]);
    expect(ls(`name=${p}`, 'driver=local')).toEqual([`${p}-a`, `${p}-b`]);
    expect(ls(`name=${p}`, 'driver=other')).toEqual([]);
    const badKey = d.cli(['volume', 'ls', '--filter', 'color=red']);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain("invalid filter 'color'");
    expect(d.cli(['volume', 'ls', '--filter', 'dangling=maybe']).stderr).toContain(
      "invalid filter 'dangling=maybe'",
    );
    ok(['rm', c]);
    ok(['volume', 'rm', `${p}-a`, `${p}-b`]);
  });
});

describe('prune', () => {
  it('prunes unused anonymous volumes by default, all with --all, reports space', () => {
    const p = uniq('prn');
    ok(['volume', 'create', `${p}-named`]);
    ok(['volume', 'create', '--label', 'keep=1', `${p}-kept`]);
    // An anonymous volume with some data, and one still used by a container.
    ok([
      'run',
      '--name',
      `${p}-c1`,
      '-v',
      '/data',
      'busybox',
      'sh',
      '-c',
      'head -c 5000 /dev/zero > /data/f',
    ]);
    const anon = ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', `${p}-c1`]).trim();
    ok(['rm', `${p}-c1`]);
    ok(['create', '--name', `${p}-c2`, '-v', '/used', 'busybox', 'true']);
    const used = ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', `${p}-c2`]).trim();

    const out = ok(['volume', 'prune', '-f']);
    expect(out).toBe(`Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 5kB\n`);
    const left = ok(['volume', 'ls', '-q']);
    expect(left).toContain(`${p}-named`);
    expect(left).toContain(used);

    // The prompt: "n" keeps everything.
    const declined = ok(['volume', 'prune', '--all'], 'n\n');
    expect(declined).toContain(
      'WARNING! This will remove all local volumes not used by at least one container.',
    );
    expect(ok(['volume', 'ls', '-q'])).toContain(`${p}-named`);

    const all = ok(['volume', 'prune', '--all', '--force', '--filter', 'label!=keep']);
    expect(all).toContain(`${p}-named\n`);
    expect(all).not.toContain(`${p}-kept`);
    expect(all).not.toContain(used);
    expect(ok(['volume', 'prune', '-af', '--filter', 'label=keep=1'])).toContain(`${p}-kept`);
    ok(['rm', '-v', `${p}-c2`]);
    expect(ok(['volume', 'ls', '-q'])).not.toContain(used);
  });

  it('API before 1.42 prunes named volumes too; invalid filters are 400', async () => {
    const name = uniq('old');
    ok(['volume', 'create', name]);
    const newer = await api('POST', '/v1.45/volumes/prune');
    expect((newer.json as { VolumesDeleted: string[] | null }).VolumesDeleted ?? []).not.toContain(
      name,
    );
    const older = await api('POST', '/v1.41/volumes/prune');
    expect(older.status).toBe(200);
    expect((older.json as { VolumesDeleted: string[] }).VolumesDeleted).toContain(name);
    const bad = await api(
      'POST',
      `/v1.45/volumes/prune?filters=${encodeURIComponent('{"dangling":{"true":true}}')}`,
    );
    expect(bad).toEqual({ status: 400, json: { message: "invalid filter 'dangling'" } });
  });
});

describe('events and bad input', () => {
  it('volume create, mount, unmount, destroy events', () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const name = uniq('ev');
    ok(['volume', 'create', name]);
    const c = ok(['run', '-d', '-v', `${name}:/e:ro`, 'busybox', 'true']).trim();
    ok(['wait', c]);
    ok(['rm', c]);
    ok(['volume', 'rm', name]);
    const until = Math.floor(Date.now() / 1000) + 1;
    const events = (...extra: string[]): string =>
      ok([
        'events',
        '--since',
        String(since),
        '--until',
        String(until),
        '--filter',
        'type=volume',
        '--filter',
        `volume=${name}`,
        ...extra,
      ]);
    expect(events('--format', '{{.Action}}')).toBe('create\nmount\nunmount\ndestroy\n');
    const mount = JSON.parse(
      events('--filter', 'event=mount', '--format', '{{json .Actor.Attributes}}'),
    );
    expect(mount).toEqual({
      container: c,
      destination: '/e',
      driver: 'local',
      propagation: '',
      'read/write': 'false',
    });
  });

  it('malformed mount fields are 400 and the daemon keeps serving', async () => {
    for (const HostConfig of [
      { Binds: 'notalist' },
      { Mounts: [{ Type: 'volume', Target: 7 }] },
      { Mounts: 'x' },
      { VolumesFrom: [null] },
      { Tmpfs: { '/t': 5 } },
    ]) {
      const res = await api('POST', '/v1.45/containers/create', {
        Image: 'busybox',
        Cmd: ['true'],
        HostConfig,
      });
      expect(res.status, JSON.stringify(HostConfig)).toBe(400);
    }
    const bad = await api('POST', '/v1.45/containers/create', {
      Image: 'busybox',
      HostConfig: { Mounts: [{ Type: 'bind', Source: '/no/such/dir', Target: '/x' }] },
    });
    expect(bad).toEqual({
      status: 400,
      json: {
        message:
          'invalid mount config for type "bind": bind source path does not exist: /no/such/dir',
      },
    });
    expect((await api('GET', '/_ping')).status).toBe(200);
  });
});

describe('other clients', () => {
  it('dockerode: create, list with filters, inspect, remove, prune', async () => {
    const name = uniq('dode');
    await d.docker.createVolume({
      Name: name,
      Labels: { via: 'dockerode' },
      DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' },
    } as never);
    expect(await d.docker.getVolume(name).inspect()).toMatchObject({
      Name: name,
      Driver: 'local',
      Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' },
    });
    const list = await d.docker.listVolumes({ filters: { label: ['via=dockerode'] } });
    expect(list.Volumes.map((v) => v.Name)).toEqual([name]);
    expect(list.Warnings).toBeNull();
    expect((await d.docker.getVolume(name).inspect()).Labels).toEqual({ via: 'dockerode' });
    await d.docker.getVolume(name).remove();
    await expect(d.docker.getVolume(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const bad = await api('POST', '/v1.45/volumes/create', { Name: 5 });
    expect(bad.status).toBe(400);
    const pruned = await d.docker.pruneVolumes({
      filters: { all: ['true'], label: ['none=here'] },
    });
    expect(pruned).toEqual({ VolumesDeleted: null, SpaceReclaimed: 0 });
  });

  it('wharf volume create/ls/inspect/rm/prune', () => {
    const name = uniq('wh');
    const w = (args: string[], input?: string) =>
      d.wharf(args, input === undefined ? {} : { input });
    expect(
      w(['volume', 'create', '--label', 'x=y', '-o', 'type=tmpfs', '-o', 'device=tmpfs', name])
        .stdout,
    ).toBe(`${name}\n`);
    expect(w(['volume', 'ls', '--filter', `name=${name}`]).stdout).toBe(
      d.cli(['volume', 'ls', '--filter', `name=${name}`]).stdout,
    );
    expect(w(['volume', 'ls', '-q', '--filter', 'label=x=y']).stdout).toBe(`${name}\n`);
    expect(w(['volume', 'inspect', name]).stdout).toBe(d.cli(['volume', 'inspect', name]).stdout);
    expect(w(['volume', 'inspect', '-f', '{{.Options.type}}', name]).stdout).toBe('tmpfs\n');
    // The generic inspect finds volumes too (docker's CLI tries each object type).
    for (const args of [
      ['inspect', name],
      ['inspect', '--type', 'volume', '-f', '{{.Name}}', name],
    ]) {
      expect(w(args).stdout).toBe(d.cli(args).stdout);
    }
    expect(w(['inspect', '--type', 'volume', 'no-such-vol']).stderr).toBe(
      d.cli(['inspect', '--type', 'volume', 'no-such-vol']).stderr,
    );
    const missing = w(['volume', 'rm', 'no-such-vol']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('get no-such-vol: no such volume');
    expect(w(['volume', 'rm', name]).stdout).toBe(`${name}\n`);
    const anonC = uniq('whc');
    expect(w(['create', '--name', anonC, '-v', '/x', 'busybox', 'true']).code).toBe(0);
    expect(w(['rm', anonC]).code).toBe(0);
    const pr = w(['volume', 'prune'], 'y\n');
    expect(pr.stdout).toMatch(
      /^WARNING! This will remove anonymous local volumes not used by at least one container\.\nAre you sure you want to continue\? \[y\/N\] Deleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/,
    );
  });
});
