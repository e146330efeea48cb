import { describe, expect, it } from 'vitest';

import { parseFlags } from './flags.js';
import { CONTAINER_FLAGS, RUN_ONLY_FLAGS } from './run-flags.js';
import { runOptionsToCreateBody, type CreatePlan } from './run-options.js';

const files: Record<string, string> = {
  '/env.list': '# comment\n\nFROM_FILE=1\nPASSED\nMISSING\n',
  '/labels': 'tier=db\n',
  '/seccomp.json': '{ "defaultAction": "SCMP_ACT_ALLOW" }',
};

function plan(argv: string[], env: NodeJS.ProcessEnv = { PASSED: 'yes' }): CreatePlan {
  const { flags, args } = parseFlags([...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS], argv, {
    interspersed: false,
  });
  return runOptionsToCreateBody(
    flags,
    args,
    {
      env,
      readFile: (p) => {
        const c = files[p];
        if (c === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return c;
      },
    },
    { detach: flags.bool('detach') },
  );
}

const hc = (argv: string[]) => plan([...argv, 'img']).body.HostConfig!;
const cfg = (argv: string[]) => plan([...argv, 'img']).body;

describe('runOptionsToCreateBody', () => {
  it('maps image, command, name and platform', () => {
    const p = plan([
      '--name',
      'web',
      '--platform',
      'linux/amd64',
      'busybox',
      'sh',
      '-c',
      'echo hi',
    ]);
    expect(p.image).toBe('busybox');
    expect(p.name).toBe('web');
    expect(p.platform).toBe('linux/amd64');
    expect(p.body.Image).toBe('busybox');
    expect(p.body.Cmd).toEqual(['sh', '-c', 'echo hi']);
    expect(plan(['busybox']).body.Cmd).toBeNull();
  });

  it('attaches stdout/stderr by default, stdin with -i, nothing with -d', () => {
    expect(cfg([])).toMatchObject({
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: false,
      StdinOnce: false,
    });
    expect(cfg(['-i'])).toMatchObject({ AttachStdin: true, OpenStdin: true, StdinOnce: true });
    expect(cfg(['-it'])).toMatchObject({ Tty: true, OpenStdin: true });
    expect(cfg(['-d', '-i'])).toMatchObject({
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      OpenStdin: true,
      StdinOnce: false,
    });
    expect(cfg(['-a', 'stderr'])).toMatchObject({ AttachStdout: false, AttachStderr: true });
    expect(() => cfg(['-d', '-a', 'stdout'])).toThrow('Conflicting options: -a and -d');
  });

  it('maps environment from -e, --env and --env-file', () => {
    expect(
      cfg(['--env-file', '/env.list', '-e', 'A=1', '--env', 'PASSED', '-e', 'UNSET']).Env,
    ).toEqual(['FROM_FILE=1', 'PASSED=yes', 'A=1', 'PASSED=yes', 'UNSET']);
    expect(() => cfg(['--env-file', '/none'])).toThrow('open /none: no such file or directory');
  });

  it('maps labels from -l, --label and --label-file', () => {
    expect(cfg(['-l', 'a=b', '--label', 'flag', '--label-file', '/labels']).Labels).toEqual({
      tier: 'db',
      a: 'b',
      flag: '',
    });
  });

  it('maps process settings', () => {
    const b = cfg([
      '-w',
      '/app',
      '-u',
      '1000:1000',
      '-h',
      'box',
      '--domainname',
      'example',
      '--stop-signal',
      'SIGINT',
      '--stop-timeout',
      '5',
    ]);
    expect(b).toMatchObject({
      WorkingDir: '/app',
      User: '1000:1000',
      Hostname: 'box',
      Domainname: 'example',
      StopSignal: 'SIGINT',
      StopTimeout: 5,
    });
    expect(cfg(['--workdir', '/w', '--hostname', 'h2'])).toMatchObject({
      WorkingDir: '/w',
      Hostname: 'h2',
    });
    expect(cfg([]).StopTimeout).toBeUndefined();
  });

  it('maps --entrypoint, including the empty reset', () => {
    expect(cfg(['--entrypoint', '/bin/sh']).Entrypoint).toEqual(['/bin/sh']);
    expect(cfg(['--entrypoint', '']).Entrypoint).toEqual(['']);
    expect(cfg([]).Entrypoint).toBeNull();
  });

  it('maps --rm, --init, --read-only, --privileged, --network', () => {
    expect(hc(['--rm'])).toMatchObject({ AutoRemove: true });
    expect(hc(['--init']).Init).toBe(true);
    expect(hc([]).Init).toBeNull();
    expect(hc(['--read-only']).ReadonlyRootfs).toBe(true);
    expect(hc(['--privileged']).Privileged).toBe(true);
    expect(hc([]).NetworkMode).toBe('default');
    expect(hc(['--network', 'none']).NetworkMode).toBe('none');
    expect(
      plan(['--network', 'mynet', '--network-alias', 'a', 'img']).body.NetworkingConfig,
    ).toEqual({
      EndpointsConfig: { mynet: { Aliases: ['a'] } },
    });
  });

  it('maps --restart and rejects it with --rm', () => {
    expect(hc(['--restart', 'always']).RestartPolicy).toEqual({ Name: 'always' });
    expect(hc(['--restart', 'on-failure:3']).RestartPolicy).toEqual({
      Name: 'on-failure',
      MaximumRetryCount: 3,
    });
    expect(hc(['--restart', 'no', '--rm']).AutoRemove).toBe(true);
    expect(() => hc(['--restart', 'always', '--rm'])).toThrow(
      'Conflicting options: --restart and --rm',
    );
    expect(() => hc(['--restart', 'sometimes'])).toThrow("invalid restart policy 'sometimes'");
  });

  it('maps capabilities, security options and sysctls', () => {
    const h = hc([
      '--cap-add',
      'NET_ADMIN',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--security-opt',
      'seccomp=/seccomp.json',
      '--sysctl',
      'net.ipv4.ip_forward=1',
    ]);
    expect(h.CapAdd).toEqual(['NET_ADMIN']);
    expect(h.CapDrop).toEqual(['ALL']);
    expect(h.SecurityOpt).toEqual([
      'no-new-privileges',
      'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}',
    ]);
    expect(h.Sysctls).toEqual({ 'net.ipv4.ip_forward': '1' });
    expect(hc(['--security-opt', 'seccomp=unconfined']).SecurityOpt).toEqual([
      'seccomp=unconfined',
    ]);
  });

  it('maps memory and cpu resources', () => {
    const h = hc([
      '-m',
      '512m',
      '--memory-swap',
      '1g',
      '--memory-reservation',
      '256m',
      '--cpus',
      '1.5',
      '-c',
      '512',
      '--cpuset-cpus',
      '0-1',
      '--pids-limit',
      '100',
      '--shm-size',
      '64m',
    ]);
    expect(h).toMatchObject({
      Memory: 512 * 1024 ** 2,
      MemorySwap: 1024 ** 3,
      MemoryReservation: 256 * 1024 ** 2,
      NanoCpus: 1_500_000_000,
      CpuShares: 512,
      CpusetCpus: '0-1',
      PidsLimit: 100,
      ShmSize: 64 * 1024 ** 2,
    });
    expect(hc(['--memory', '1g', '--memory-swap', '-1', '--cpu-shares', '2']).MemorySwap).toBe(-1);
    expect(hc([]).PidsLimit).toBeNull();
    expect(() => hc(['-m', '12x'])).toThrow(
      `invalid argument "12x" for "-m, --memory" flag: invalid suffix: 'x'`,
    );
    expect(() => hc(['--cpus', '0.0000000001'])).toThrow('value is too precise');
  });

  it('maps ulimits, devices and block io throttles', () => {
    const h = hc([
      '--ulimit',
      'nofile=1024:2048',
      '--ulimit',
      'nproc=10',
      '--device',
      '/dev/fuse',
      '--device',
      '/dev/sda:/dev/xvda:r',
      '--device',
      '/dev/null:rw',
      '--device-read-bps',
      '/dev/sda:1mb',
      '--device-write-bps',
      '/dev/sda:10k',
    ]);
    expect(h.Ulimits).toEqual([
      { Name: 'nofile', Soft: 1024, Hard: 2048 },
      { Name: 'nproc', Soft: 10, Hard: 10 },
    ]);
    expect(h.Devices).toEqual([
      { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
      { PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' },
      { PathOnHost: '/dev/null', PathInContainer: '/dev/null', CgroupPermissions: 'rw' },
    ]);
    expect(h.BlkioDeviceReadBps).toEqual([{ Path: '/dev/sda', Rate: 1024 ** 2 }]);
    expect(h.BlkioDeviceWriteBps).toEqual([{ Path: '/dev/sda', Rate: 10 * 1024 }]);
    expect(() => hc(['--ulimit', 'bogus=1'])).toThrow('invalid ulimit type: bogus');
    expect(() => hc(['--ulimit', 'nofile=10:5'])).toThrow('soft limit must be less than or equal');
    expect(() => hc(['--device-read-bps', 'sda:1mb'])).toThrow('bad format');
  });

  it('maps logging and tmpfs', () => {
    const h = hc([
      '--log-driver',
      'json-file',
      '--log-opt',
      'max-size=10m',
      '--tmpfs',
      '/run:rw,size=64m',
      '--tmpfs',
      '/tmp',
    ]);
    expect(h.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m' } });
    expect(h.Tmpfs).toEqual({ '/run': 'rw,size=64m', '/tmp': '' });
  });

  it('maps ports, exposes and volumes', () => {
    const p = plan([
      '-p',
      '8080:80',
      '-p',
      '127.0.0.1::53/udp',
      '-p',
      '9000-9001:9000-9001',
      '--expose',
      '7000',
      '-v',
      '/data:/data:ro',
      '-v',
      '/anon',
      'img',
    ]);
    expect(p.body.ExposedPorts).toEqual({
      '80/tcp': {},
      '53/udp': {},
      '9000/tcp': {},
      '9001/tcp': {},
      '7000/tcp': {},
    });
    expect(p.body.HostConfig!.PortBindings).toEqual({
      '80/tcp': [{ HostIp: '', HostPort: '8080' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      '9000/tcp': [{ HostIp: '', HostPort: '9000' }],
      '9001/tcp': [{ HostIp: '', HostPort: '9001' }],
    });
    expect(p.body.HostConfig!.Binds).toEqual(['/data:/data:ro']);
    expect(p.body.Volumes).toEqual({ '/anon': {} });
  });

  it('maps healthchecks', () => {
    expect(
      cfg(['--health-cmd', 'true', '--health-interval', '5s', '--health-retries', '3']).Healthcheck,
    ).toEqual({
      Test: ['CMD-SHELL', 'true'],
      Interval: 5e9,
      Timeout: 0,
      StartPeriod: 0,
      Retries: 3,
    });
    expect(cfg(['--no-healthcheck']).Healthcheck).toEqual({ Test: ['NONE'] });
  });
});
