/**
 * Container mounts through the docker CLI, dockerode and wharf: named and anonymous volumes,
 * binds, tmpfs, copy-up, nocopy, VOLUME in the image, --volumes-from, rm -v, validation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { busyboxRootfsTar, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { uniq } from '../cli/helpers.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wharf-vol-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspect JSON is probed freely
const inspect = (ref: string): Record<string, any> => JSON.parse(d.cli(['inspect', ref]).stdout)[0];
const ok = (args: string[]): string => {
  const r = d.cli(args);
  expect(r.stderr, `docker ${args.join(' ')}`).toBe('');
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const volumeNames = (): string[] =>
  d.cli(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean);

/** An image: busybox plus /data (uid 1000, mode 0750, a file) declared as a VOLUME. */
function importVolumeImage(tag: string): void {
  const root = path.join(tmp, `rootfs-${tag}`);
  spawnSync('mkdir', ['-p', root]);
  expect(spawnSync('tar', ['-C', root, '-xf', busyboxRootfsTar()]).status).toBe(0);
  const data = path.join(root, 'data');
  spawnSync('mkdir', ['-p', path.join(data, 'sub')]);
  spawnSync('sh', ['-c', `echo from-image > ${data}/hello && echo nested > ${data}/sub/n`]);
  spawnSync('chown', ['-R', '1000:1000', data]);
  spawnSync('chmod', ['0750', data]);
  const tar = path.join(tmp, `${tag}.tar`);
  expect(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status).toBe(0);
  ok(['import', '-c', 'VOLUME /data', '-c', 'CMD ["sh"]', tar, tag]);
}

describe('named volumes', () => {
  it('are created on first use, shared, kept after the container, and shown in Mounts', () => {
    const vol = uniq('named');
    const c = uniq('c');
    ok(['run', '--name', c, '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'echo one > /data/f']);
    expect(volumeNames()).toContain(vol);
    const mounts = inspect(c).Mounts;
    expect(mounts).toEqual([
      {
        Type: 'volume',
        Name: vol,
        Source: path.join(d.dataRoot, 'volumes', vol, '_data'),
        Destination: '/data',
        Driver: 'local',
        Mode: 'z',
        RW: true,
        Propagation: '',
      },
    ]);
    expect(
      d.cli(['ps', '-a', '--filter', `volume=${vol}`, '--format', '{{.Names}} {{.Mounts}}']).stdout,
    ).toBe(`${c} ${vol}\n`);
    ok(['rm', '-v', c]);
    // rm -v never removes a named volume; the data is still there for the next container.
    expect(volumeNames()).toContain(vol);
    expect(ok(['run', '--rm', '-v', `${vol}:/x:ro`, 'busybox', 'cat', '/x/f'])).toBe('one\n');
    ok(['volume', 'rm', vol]);
  });

  it(':ro makes the mount read-only', () => {
    const vol = uniq('ro');
    const r = d.cli(['run', '--rm', '-v', `${vol}:/data:ro`, 'busybox', 'touch', '/data/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Read-only file system/);
    ok(['volume', 'rm', vol]);
  });

  it('copy-up fills an empty volume from the image, keeping owners and modes', () => {
    const vol = uniq('etc');
    expect(ok(['run', '--rm', '-v', `${vol}:/etc`, 'busybox', 'cat', '/etc/passwd'])).toMatch(
      /^root:/,
    );
    // The volume itself now holds the image's /etc.
    const src = path.join(d.dataRoot, 'volumes', vol, '_data');
    expect(readFileSync(path.join(src, 'passwd'), 'utf8')).toMatch(/^root:/);
    // Not copied again into a volume that has content.
    ok(['run', '--rm', '-v', `${vol}:/etc`, 'busybox', 'rm', '/etc/group']);
    expect(d.cli(['run', '--rm', '-v', `${vol}:/etc`, 'busybox', 'ls', '/etc/group']).code).toBe(1);
    ok(['volume', 'rm', vol]);
  });

  it('nocopy (-v and --mount) leaves the volume without the image content', () => {
    const v1 = uniq('nocopy');
    const v2 = uniq('nocopy');
    // Only the mount points runc makes for /etc/hostname, hosts and resolv.conf are there.
    const listing = 'hostname\nhosts\nresolv.conf\n';
    expect(ok(['run', '--rm', '-v', `${v1}:/etc:nocopy`, 'busybox', 'ls', '-A', '/etc'])).toBe(
      listing,
    );
    expect(
      ok([
        'run',
        '--rm',
        '--mount',
        `src=${v2},dst=/etc,volume-nocopy`,
        'busybox',
        'ls',
        '-A',
        '/etc',
      ]),
    ).toBe(listing);
    ok(['volume', 'rm', v1, v2]);
  });
});

describe('anonymous volumes', () => {
  it('-v /path and VOLUME get a 64-hex volume with the anonymous label, copy-up with ownership', () => {
    const img = `volimg-${uniq('i')}`;
    importVolumeImage(img);
    const c = uniq('anon');
    const out = ok([
      'run',
      '--name',
      c,
      '-v',
      '/scratch',
      img,
      'sh',
      '-c',
      'stat -c "%u:%g %a" /data; cat /data/hello /data/sub/n',
    ]);
    expect(out).toBe('1000:1000 750\nfrom-image\nnested\n');
    const mounts = inspect(c).Mounts as Array<Record<string, unknown>>;
    expect(mounts.map((m) => m.Destination).sort()).toEqual(['/data', '/scratch']);
    for (const m of mounts) {
      expect(m.Name).toMatch(/^[0-9a-f]{64}$/);
      expect(m.Mode).toBe('');
      const v = JSON.parse(ok(['volume', 'inspect', m.Name as string]))[0];
      expect(v.Labels).toEqual({ 'com.docker.volume.anonymous': '' });
    }
    // In use by the (stopped) container: volume rm is refused with Docker's message.
    const name = mounts[0]!.Name as string;
    const r = d.cli(['volume', 'rm', name]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`remove ${name}: volume is in use - [${inspect(c).Id}]`);
    // rm -v removes the container's anonymous volumes.
    ok(['rm', '-v', c]);
    for (const m of mounts) expect(volumeNames()).not.toContain(m.Name);
    ok(['rmi', img]);
  });

  it('rm without -v keeps them, --rm removes them', () => {
    const c = uniq('keep');
    ok(['create', '--name', c, '-v', '/keep', 'busybox', 'true']);
    const name = inspect(c).Mounts[0].Name;
    ok(['rm', c]);
    expect(volumeNames()).toContain(name);
    ok(['volume', 'rm', name]);
    const before = volumeNames();
    ok(['run', '--rm', '-v', '/gone', 'busybox', 'true']);
    expect(volumeNames()).toEqual(before);
  });

  it('an explicit mount at a VOLUME path replaces the anonymous volume', () => {
    const img = `volimg-${uniq('j')}`;
    importVolumeImage(img);
    const c = uniq('over');
    ok(['create', '--name', c, '--tmpfs', '/data', img, 'true']);
    expect(inspect(c).Mounts).toEqual([]);
    ok(['rm', c]);
    ok(['rmi', img]);
  });
});

describe('bind mounts', () => {
  it('rw and ro binds, a missing -v host path is created', () => {
    const host = path.join(tmp, uniq('bind'));
    const missing = path.join(tmp, uniq('missing'), 'deep');
    spawnSync('mkdir', ['-p', host]);
    ok([
      'run',
      '--rm',
      '-v',
      `${host}:/rw`,
      '-v',
      `${host}:/ro:ro`,
      '-v',
      `${missing}:/m`,
      'busybox',
      'sh',
      '-c',
      'echo w > /rw/file && ! touch /ro/x 2>/dev/null && cat /ro/file',
    ]);
    expect(readFileSync(path.join(host, 'file'), 'utf8')).toBe('w\n');
    expect(existsSync(path.join(host, 'x'))).toBe(false);
    expect(statSync(missing).isDirectory()).toBe(true);
    // Binds never copy the image's content.
    const empty = path.join(tmp, uniq('empty'));
    spawnSync('mkdir', ['-p', empty]);
    ok(['run', '--rm', '-v', `${empty}:/etc/x`, 'busybox', 'true']);
    expect(readdir(empty)).toEqual([]);
  });

  it('inspect shows a bind as Docker does', () => {
    const host = path.join(tmp, uniq('bind'));
    spawnSync('mkdir', ['-p', host]);
    const c = uniq('b');
    ok([
      'create',
      '--name',
      c,
      '-v',
      `${host}:/b:ro`,
      '--mount',
      `type=bind,src=${host},dst=/m,bind-propagation=rslave`,
      'busybox',
      'true',
    ]);
    expect(inspect(c).Mounts).toEqual([
      {
        Type: 'bind',
        Source: host,
        Destination: '/b',
        Mode: 'ro',
        RW: false,
        Propagation: 'rprivate',
      },
      { Type: 'bind', Source: host, Destination: '/m', Mode: '', RW: true, Propagation: 'rslave' },
    ]);
    expect(inspect(c).HostConfig.Binds).toEqual([`${host}:/b:ro`]);
    ok(['rm', c]);
  });

  it('bind propagation: rslave sees host mounts made later, the rprivate default does not', () => {
    const host = path.join(tmp, uniq('prop'));
    const sub = path.join(host, 'sub');
    spawnSync('mkdir', ['-p', sub]);
    // The source must sit on a shared mount for events to reach the container (as Docker).
    const refused = d.cli([
      'run',
      '--rm',
      '--mount',
      `type=bind,src=${host},dst=/h,bind-propagation=rslave`,
      'busybox',
      'true',
    ]);
    const hostRoot = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/');
    if (!/ shared:/.test(hostRoot ?? '')) {
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain(
        `path ${host} is mounted on / but it is not a shared or slave mount`,
      );
    }
    expect(spawnSync('mount', ['--bind', host, host]).status).toBe(0);
    const slave = uniq('slave');
    const priv = uniq('priv');
    try {
      expect(spawnSync('mount', ['--make-shared', host]).status).toBe(0);
      ok([
        'run',
        '-d',
        '--name',
        slave,
        '--mount',
        `type=bind,src=${host},dst=/h,bind-propagation=rslave`,
        'busybox',
        'sleep',
        '600',
      ]);
      ok(['run', '-d', '--name', priv, '-v', `${host}:/h`, 'busybox', 'sleep', '600']);
      expect(inspect(slave).Mounts[0].Propagation).toBe('rslave');
      expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', sub]).status).toBe(0);
      expect(d.cli(['exec', slave, 'grep', '-c', ' /h/sub ', '/proc/mounts']).stdout).toBe('1\n');
      expect(d.cli(['exec', priv, 'grep', '-c', ' /h/sub ', '/proc/mounts']).stdout).toBe('0\n');
    } finally {
      d.cli(['rm', '-f', slave, priv]);
      spawnSync('umount', [sub]);
      spawnSync('umount', [host]);
    }
  });

  it('--mount type=bind refuses a missing source with Docker message', () => {
    const r = d.cli([
      'run',
      '--rm',
      '--mount',
      'type=bind,src=/nonexistent-wharf,dst=/x',
      'busybox',
      'true',
    ]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(
      'invalid mount config for type "bind": bind source path does not exist: /nonexistent-wharf',
    );
  });
});

describe('tmpfs', () => {
  it('--mount type=tmpfs with size and mode, and --tmpfs', () => {
    const out = ok([
      'run',
      '--rm',
      '--mount',
      'type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770',
      '--tmpfs',
      '/u:size=2m',
      'busybox',
      'sh',
      '-c',
      'grep -E " /(t|u) " /proc/mounts; stat -c %a /t',
    ]);
    expect(out).toMatch(/tmpfs \/t tmpfs [^ ]*size=1024k/);
    expect(out).toMatch(/tmpfs \/u tmpfs [^ ]*size=2048k/);
    expect(out).toMatch(/1770\n$/);
  });

  it('a volume with type=tmpfs options is mounted while used, unmounted after', async () => {
    const vol = uniq('tmpfsvol');
    ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=3m', vol]);
    const data = path.join(d.dataRoot, 'volumes', vol, '_data');
    const c = uniq('t');
    ok(['run', '-d', '--name', c, '-v', `${vol}:/v`, 'busybox', 'sleep', '600']);
    const mnt = ok(['exec', c, 'grep', ' /v ', '/proc/mounts']);
    expect(mnt).toMatch(/tmpfs \/v tmpfs [^ ]*size=3072k/);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${data} `);
    ok(['rm', '-f', c]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${data} `);
    ok(['volume', 'rm', vol]);
  });

  it('a volume with type=none,o=bind options binds a host directory', () => {
    const host = path.join(tmp, uniq('hostdir'));
    spawnSync('mkdir', ['-p', host]);
    const vol = uniq('bindvol');
    ok([
      'volume',
      'create',
      '--opt',
      'type=none',
      '--opt',
      'o=bind',
      '--opt',
      `device=${host}`,
      vol,
    ]);
    ok(['run', '--rm', '-v', `${vol}:/v:nocopy`, 'busybox', 'sh', '-c', 'echo via-volume > /v/f']);
    expect(readFileSync(path.join(host, 'f'), 'utf8')).toBe('via-volume\n');
    ok(['volume', 'rm', vol]);
    // Removing the volume never touches the bound host directory.
    expect(readFileSync(path.join(host, 'f'), 'utf8')).toBe('via-volume\n');
  });
});

describe('volume subpaths', () => {
  it('--mount volume-subpath mounts a directory of the volume', () => {
    const vol = uniq('sub');
    ok([
      'run',
      '--rm',
      '-v',
      `${vol}:/v`,
      'busybox',
      'sh',
      '-c',
      'mkdir -p /v/a/b && echo deep > /v/a/b/f',
    ]);
    expect(
      ok([
        'run',
        '--rm',
        '--mount',
        `src=${vol},dst=/s,volume-subpath=a/b`,
        'busybox',
        'cat',
        '/s/f',
      ]),
    ).toBe('deep\n');
    const missing = d.cli([
      'run',
      '--rm',
      '--mount',
      `src=${vol},dst=/s,volume-subpath=nope`,
      'busybox',
      'true',
    ]);
    // docker's CLI turns "no such file or directory" in a start error into 127.
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain(`cannot access path ${d.dataRoot}/volumes/${vol}/_data/nope`);
    const escape = d.cli([
      'run',
      '--rm',
      '--mount',
      `src=${vol},dst=/s,volume-subpath=../x`,
      'busybox',
      'true',
    ]);
    expect(escape.stderr).toContain('subpath must be a relative path within the volume');
    ok(['volume', 'rm', vol]);
  });
});

describe('volume mount failures', () => {
  it('a volume whose device cannot be mounted fails the start cleanly', () => {
    const vol = uniq('badvol');
    const c = uniq('bad');
    ok([
      'volume',
      'create',
      '-o',
      'type=none',
      '-o',
      'o=bind',
      '-o',
      `device=${tmp}/no-such-dir`,
      vol,
    ]);
    const r = d.cli(['run', '--name', c, '-v', `${vol}:/v`, 'busybox', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`error while mounting volume '${d.dataRoot}/volumes/${vol}/_data'`);
    expect(inspect(c).State.Running).toBe(false);
    // Nothing half-mounted; once the container is gone the volume can go.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`/volumes/${vol}/`);
    ok(['rm', c]);
    ok(['volume', 'rm', vol]);
  });
});

describe('--volumes-from', () => {
  it('takes the other container mounts, optionally read-only', () => {
    const src = uniq('src');
    const vol = uniq('shared');
    ok(['create', '--name', src, '-v', `${vol}:/shared`, '-v', '/anon', 'busybox', 'true']);
    ok([
      'run',
      '--rm',
      '--volumes-from',
      src,
      'busybox',
      'sh',
      '-c',
      'echo hi > /shared/f && touch /anon/a',
    ]);
    const r = d.cli([
      'run',
      '--rm',
      '--volumes-from',
      `${src}:ro`,
      'busybox',
      'sh',
      '-c',
      'cat /shared/f; touch /shared/g',
    ]);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    const missing = d.cli([
      'create',
      '--pull',
      'never',
      '--volumes-from',
      'no-such-ctr',
      'busybox',
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No such container: no-such-ctr');
    ok(['rm', '-v', src]);
    ok(['volume', 'rm', vol]);
  });
});

describe('validation and other clients', () => {
  it('duplicate mount points and bad specs are refused as Docker does', () => {
    const dup = d.cli(['create', '-v', 'a1:/x', '-v', 'a2:/x', 'busybox']);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('Duplicate mount point: /x');
    const bad = d.cli(['create', '-v', 'vol:/x:bogus', 'busybox']);
    expect(bad.stderr).toContain('invalid mode: bogus');
    const rel = d.cli(['create', '-v', 'vol:rel', 'busybox']);
    expect(rel.stderr).toContain("invalid mount path: 'rel' mount path must be absolute");
    const mnt = d.cli(['create', '--mount', 'type=volume,dst=/x,ro', 'busybox']);
    expect(mnt.stderr).toContain('must not set ReadOnly mode when using anonymous volumes');
    const plugin = d.cli([
      'create',
      '--pull',
      'never',
      '--volume-driver',
      'nfsplug',
      '-v',
      'pv:/x',
      'busybox',
    ]);
    expect(plugin.stderr).toContain(
      'error looking up volume plugin nfsplug: plugin "nfsplug" not found',
    );
    // Nothing was left behind by the refused creates.
    expect(volumeNames().filter((n) => ['a1', 'a2', 'vol', 'pv'].includes(n))).toEqual([]);
  });

  it('dockerode: HostConfig.Binds and Mounts', async () => {
    const vol = uniq('dode');
    const host = path.join(tmp, uniq('dodehost'));
    spawnSync('mkdir', ['-p', host]);
    const c = await d.docker.createContainer({
      Image: 'busybox',
      Cmd: ['sh', '-c', 'echo x > /v/f && cat /v/f > /h/copy'],
      HostConfig: {
        Binds: [`${host}:/h`],
        Mounts: [
          {
            Type: 'volume',
            Source: vol,
            Target: '/v',
            VolumeOptions: {
              NoCopy: false,
              Labels: { by: 'dockerode' },
              DriverConfig: { Name: 'local', Options: {} },
            },
          },
        ],
      },
    });
    await c.start();
    expect((await c.wait()).StatusCode).toBe(0);
    expect(readFileSync(path.join(host, 'copy'), 'utf8')).toBe('x\n');
    const info = await c.inspect();
    expect(info.Mounts.map((m) => [m.Type, m.Destination])).toEqual([
      ['bind', '/h'],
      ['volume', '/v'],
    ]);
    expect((await d.docker.getVolume(vol).inspect()).Labels).toEqual({ by: 'dockerode' });
    await expect(d.docker.getVolume(vol).remove()).rejects.toMatchObject({ statusCode: 409 });
    await c.remove({ v: true });
    await d.docker.getVolume(vol).remove();
  });

  it('wharf run -v and --mount', () => {
    const vol = uniq('wharf');
    const r = d.wharf([
      'run',
      '--rm',
      '-v',
      `${vol}:/a`,
      '--mount',
      `type=tmpfs,dst=/b,tmpfs-size=1m`,
      'busybox',
      'sh',
      '-c',
      'echo ok > /a/f; grep " /b " /proc/mounts',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tmpfs \/b tmpfs [^ ]*size=1024k/);
    expect(d.wharf(['run', '--rm', '-v', `${vol}:/a`, 'busybox', 'cat', '/a/f']).stdout).toBe(
      'ok\n',
    );
    const bad = d.wharf(['run', '--rm', '--mount', 'type=bind,dst=/b,foo', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain(
      `invalid argument "type=bind,dst=/b,foo" for "--mount" flag: invalid field 'foo' must be a key=value pair`,
    );
    expect(d.wharf(['volume', 'rm', vol]).code).toBe(0);
  });
});

describe('wharf CLI', () => {
  it('inspect Mounts, ps --filter volume, --volumes-from and rm -v as docker shows them', () => {
    const vol = uniq('wv');
    const src = uniq('wsrc');
    const w = (args: string[]) => {
      const r = d.wharf(args);
      expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    w([
      'create',
      '--name',
      src,
      '-v',
      `${vol}:/v`,
      '-v',
      '/anon',
      '--mount',
      'type=tmpfs,dst=/t',
      'busybox',
      'true',
    ]);
    for (const f of ['{{json .Mounts}}', '{{range .Mounts}}{{.Type}} {{.Name}} {{.RW}};{{end}}']) {
      expect(w(['inspect', '-f', f, src])).toBe(d.cli(['inspect', '-f', f, src]).stdout);
    }
    const ps = [
      'ps',
      '-a',
      '--filter',
      `volume=${vol}`,
      '--format',
      '{{.Names}} {{.Mounts}} {{.LocalVolumes}}',
    ];
    expect(w(ps)).toBe(d.cli(ps).stdout);
    expect(w(ps)).toMatch(new RegExp(`^${src} ${vol},`));
    expect(
      w([
        'run',
        '--rm',
        '--volumes-from',
        `${src}:ro`,
        'busybox',
        'sh',
        '-c',
        'grep -c " /t \\| /v \\| /anon " /proc/mounts',
      ]),
    ).toBe('3\n');
    const anon = w([
      'inspect',
      '-f',
      '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}',
      src,
    ]).trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    w(['rm', '-v', src]);
    const left = w(['volume', 'ls', '-q']);
    expect(left).toContain(vol);
    expect(left).not.toContain(anon);
    w(['volume', 'rm', vol]);
  });
});

function readdir(p: string): string[] {
  return spawnSync('ls', ['-A', p]).stdout.toString().split('\n').filter(Boolean);
}
