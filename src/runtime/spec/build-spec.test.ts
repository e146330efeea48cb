import { describe, expect, it } from 'vitest';

import { buildSpec, rootfsPropagationFor, serializeSpec, type SpecInput } from './build-spec.js';
import { capabilitiesFromMask, DEFAULT_CAPABILITIES } from './capabilities.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './mounts.js';

const HOST = capabilitiesFromMask('000001fffeffffff');

function input(over: Partial<SpecInput> = {}, hostConfig: SpecInput['hostConfig'] = {}): SpecInput {
  return {
    id: 'c1',
    rootfs: '/var/lib/wharf/rootfs/c1',
    config: {},
    hostConfig,
    args: ['sh'],
    env: ['PATH=/bin'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    hostname: 'c1host',
    terminal: false,
    netns: { mode: 'new' },
    cgroupsPath: '/wharf/c1',
    hostBoundingSet: HOST,
    defaultNofile: 1048576,
    ...over,
  };
}

const mount = (s: ReturnType<typeof buildSpec>, dest: string) =>
  s.mounts.find((m) => m.destination === dest);

describe('buildSpec defaults', () => {
  const s = buildSpec(input());

  it('process', () => {
    expect(s.process.args).toEqual(['sh']);
    expect(s.process.capabilities!.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(s.process.capabilities!.effective).toEqual(DEFAULT_CAPABILITIES);
    expect(s.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }]);
    expect(s.process.noNewPrivileges).toBe(false);
    expect(s.process.oomScoreAdj).toBe(0);
    expect(s.hostname).toBe('c1host');
  });

  it('namespaces: mount, network, uts, pid, ipc, cgroup', () => {
    expect(s.linux.namespaces.map((n) => n.type)).toEqual([
      'mount',
      'network',
      'uts',
      'pid',
      'ipc',
      'cgroup',
    ]);
  });

  it("mounts Docker's filesystems with a 64 MiB /dev/shm", () => {
    expect(s.mounts.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/sys',
      '/sys/fs/cgroup',
      '/dev/mqueue',
      '/dev/shm',
    ]);
    expect(mount(s, '/dev/shm')!.options).toContain('size=67108864');
    expect(mount(s, '/sys')!.options).toContain('ro');
    expect(mount(s, '/sys/fs/cgroup')!.options).toContain('ro');
  });

  it("masks and read-only paths are Docker's", () => {
    expect(s.linux.maskedPaths!.slice(0, DEFAULT_MASKED_PATHS.length)).toEqual(
      DEFAULT_MASKED_PATHS,
    );
    expect(s.linux.readonlyPaths).toEqual(DEFAULT_READONLY_PATHS);
  });

  it("device rules are Docker's and the seccomp profile is on", () => {
    const d = s.linux.resources!.devices!;
    expect(d[0]).toEqual({ allow: false, access: 'rwm' });
    expect(d).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(d).toContainEqual({ allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' });
    expect(s.linux.devices).toEqual([]);
    expect(s.linux.seccomp!.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(s.linux.cgroupsPath).toBe('/wharf/c1');
  });
});

describe('buildSpec from HostConfig', () => {
  it('privileged: host caps, rw /sys and cgroups, no masks, no seccomp, all devices', () => {
    const s = buildSpec(input({}, { Privileged: true }));
    expect(s.process.capabilities!.bounding).toEqual(HOST);
    expect(mount(s, '/sys')!.options).not.toContain('ro');
    expect(mount(s, '/sys/fs/cgroup')!.options).not.toContain('ro');
    expect(s.linux.maskedPaths).toBeUndefined();
    expect(s.linux.readonlyPaths).toBeUndefined();
    expect(s.linux.seccomp).toBeUndefined();
    expect(s.linux.resources!.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(s.linux.devices!.some((d) => d.path === '/dev/null')).toBe(true);
  });

  it('security options', () => {
    const s = buildSpec(
      input({}, { SecurityOpt: ['no-new-privileges', 'seccomp=unconfined', 'apparmor=x'] }),
    );
    expect(s.process.noNewPrivileges).toBe(true);
    expect(s.linux.seccomp).toBeUndefined();
    const admin = buildSpec(input({}, { CapAdd: ['SYS_ADMIN'] }));
    expect(admin.linux.seccomp!.syscalls!.some((r) => r.names.includes('mount'))).toBe(true);
  });

  it('resources', () => {
    const s = buildSpec(
      input(
        {},
        {
          Memory: 256 << 20,
          MemoryReservation: 128 << 20,
          NanoCpus: 1.5e9,
          CpuShares: 512,
          CpusetCpus: '0',
          PidsLimit: 0,
          BlkioWeight: 300,
          BlkioDeviceReadBps: [{ Path: '/dev/null', Rate: 1024 }],
          OomKillDisable: true,
          MemorySwappiness: 10,
        },
      ),
    );
    const r = s.linux.resources!;
    expect(r.memory).toEqual({
      limit: 256 << 20,
      reservation: 128 << 20,
      swap: 512 << 20,
      swappiness: 10,
      disableOOMKiller: true,
    });
    expect(r.cpu).toEqual({ shares: 512, cpus: '0', period: 100000, quota: 150000 });
    expect(r.pids).toEqual({ limit: -1 });
    expect(r.blockIO).toEqual({
      weight: 300,
      throttleReadBpsDevice: [{ major: 1, minor: 3, rate: 1024 }],
    });
    expect(
      buildSpec(input({}, { Memory: 1 << 20, MemorySwap: -1 })).linux.resources!.memory,
    ).toEqual({
      limit: 1 << 20,
    });
    expect(
      buildSpec(input({}, { CpuQuota: 50000, CpuPeriod: 100000 })).linux.resources!.cpu,
    ).toEqual({
      period: 100000,
      quota: 50000,
    });
    expect(() => buildSpec(input({}, { NanoCpus: 1e9, CpuQuota: 1 }))).toThrow(
      'Conflicting options',
    );
  });

  it('tmpfs, read-only rootfs, etc files, ShmSize', () => {
    const s = buildSpec(
      input(
        { etcFiles: { hostname: '/x/hostname', hosts: '/x/hosts', resolvConf: '/x/resolv.conf' } },
        { Tmpfs: { '/run': 'size=64m,mode=1777,noexec' }, ReadonlyRootfs: true, ShmSize: 1 << 20 },
      ),
    );
    expect(s.root.readonly).toBe(true);
    expect(mount(s, '/run')!.options).toEqual([
      'nosuid',
      'nodev',
      'rprivate',
      'size=64m',
      'mode=1777',
      'noexec',
    ]);
    expect(mount(s, '/etc/hosts')).toEqual({
      destination: '/etc/hosts',
      type: 'bind',
      source: '/x/hosts',
      options: ['rbind', 'ro', 'rprivate'],
    });
    expect(mount(s, '/dev/shm')!.options).toContain(`size=${1 << 20}`);
    expect(mount(s, '/dev/shm')!.options).not.toContain('ro');
    expect(mount(s, '/dev/mqueue')!.options).not.toContain('ro');
  });

  it('caller mounts override defaults', () => {
    const s = buildSpec(
      input({
        mounts: [
          { destination: '/data', type: 'bind', source: '/srv/d', options: ['rbind', 'ro'] },
          { destination: '/dev/shm', type: 'bind', source: '/x', options: ['rbind'] },
        ],
      }),
    );
    expect(mount(s, '/data')).toEqual({
      destination: '/data',
      type: 'bind',
      source: '/srv/d',
      options: ['rbind', 'ro'],
    });
    expect(s.mounts.filter((m) => m.destination === '/dev/shm')).toEqual([
      { destination: '/dev/shm', type: 'bind', source: '/x', options: ['rbind'] },
    ]);
  });

  it('namespace modes', () => {
    const s = buildSpec(
      input(
        { netns: { mode: 'host' } },
        { PidMode: 'host', IpcMode: 'host', UTSMode: 'host', CgroupnsMode: 'host' },
      ),
    );
    expect(s.linux.namespaces.map((n) => n.type)).toEqual(['mount']);
    expect(s.hostname).toBe('');
    expect(mount(s, '/dev/shm')).toMatchObject({ type: 'bind', source: '/dev/shm' });
    const p = buildSpec(
      input({ netns: { mode: 'path', path: '/run/netns/x' } }, { IpcMode: 'none' }),
    );
    expect(p.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/x' });
    expect(mount(p, '/dev/shm')).toBeUndefined();
    expect(() => buildSpec(input({}, { PidMode: 'weird' }))).toThrow('invalid PID mode: weird');
  });

  it('init, ulimits, sysctls, oom score, devices', () => {
    const s = buildSpec(
      input(
        { initPath: '/usr/bin/tini-static' },
        {
          Init: true,
          Ulimits: [{ Name: 'nproc', Soft: 100, Hard: 200 }],
          Sysctls: { 'net.ipv4.ip_forward': '1' },
          OomScoreAdj: 500,
          Devices: [
            { PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' },
          ],
          DeviceCgroupRules: ['c 42:* rmw'],
        },
      ),
    );
    expect(s.process.args).toEqual(['/sbin/docker-init', '--', 'sh']);
    expect(mount(s, '/sbin/docker-init')).toEqual({
      destination: '/sbin/docker-init',
      type: 'bind',
      source: '/usr/bin/tini-static',
      options: ['bind', 'ro'],
    });
    expect(s.process.rlimits).toEqual([
      { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
      { type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 },
    ]);
    expect(s.linux.sysctl!['net.ipv4.ip_forward']).toBe('1');
    expect(s.process.oomScoreAdj).toBe(500);
    expect(s.linux.devices).toEqual([
      expect.objectContaining({ path: '/dev/mynull', type: 'c', major: 1, minor: 3 }),
    ]);
    expect(s.linux.resources!.devices).toContainEqual({
      allow: true,
      type: 'c',
      major: 1,
      minor: 3,
      access: 'rw',
    });
    expect(s.linux.resources!.devices).toContainEqual({
      allow: true,
      type: 'c',
      major: 42,
      minor: -1,
      access: 'rmw',
    });
    expect(() => buildSpec(input({}, { DeviceCgroupRules: ['x'] }))).toThrow(
      "invalid device cgroup rule format: 'x'",
    );
    expect(() => buildSpec(input({}, { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }))).toThrow(
      'invalid ulimit type',
    );
  });

  it('serializes unlimited rlimits as RLIM_INFINITY', () => {
    const s = buildSpec(input({}, { Ulimits: [{ Name: 'memlock', Soft: -1, Hard: -1 }] }));
    expect(serializeSpec(s)).toContain('"soft":18446744073709551615,"hard":18446744073709551615');
  });
});

describe('rootfs propagation for user mounts', () => {
  it('shared binds need a shared rootfs, slave ones a slave rootfs', () => {
    const bind = (prop: string) => ({
      destination: '/m',
      type: 'bind',
      source: '/h',
      options: ['rbind', prop],
    });
    expect(rootfsPropagationFor([bind('rprivate')])).toBeUndefined();
    expect(rootfsPropagationFor([bind('rslave')])).toBe('rslave');
    expect(rootfsPropagationFor([bind('rslave'), bind('rshared')])).toBe('shared');
  });
});
