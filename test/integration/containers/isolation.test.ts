import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';

let d: DaemonHandle;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
});

const sh = (args: string[], script: string) =>
  d.cli(['run', '--rm', ...args, 'busybox', 'sh', '-c', script]);

describe('isolation and security defaults', () => {
  it('has its own pid, uts, mount and network namespaces', () => {
    const r = sh(['--network', 'none'], 'ps -o pid,comm | tail -n +2; ip -o link | cut -d: -f2');
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim());
    expect(lines[0]).toMatch(/^1 ps$|^1 sh$/);
    expect(lines).toContain('lo');
    expect(lines.some((l) => l === 'eth0')).toBe(false);
    const host = sh(['--network', 'host'], 'ip -o link | grep -c lo');
    expect(Number(host.stdout.trim())).toBeGreaterThanOrEqual(1);
  });

  it('keeps containers from one image copy-on-write', () => {
    const a = d
      .cli(['run', '-d', 'busybox', 'sh', '-c', 'echo changed > /etc/motd; sleep 600'])
      .stdout.trim();
    expect(sh([], 'cat /etc/motd 2>/dev/null || echo absent').stdout).toBe('absent\n');
    d.cli(['rm', '-f', a]);
  });

  it("gives Docker's 14 default capabilities, and --cap-add/--cap-drop/--privileged", () => {
    expect(sh([], 'grep CapEff /proc/self/status').stdout).toMatch(/00000000a80425fb/);
    expect(sh(['--cap-drop', 'ALL'], 'grep CapEff /proc/self/status').stdout).toMatch(
      /0000000000000000/,
    );
    expect(
      sh(['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN'], 'grep CapEff /proc/self/status').stdout,
    ).toMatch(/0000000000001000/);
    const host = /CapBnd:\s+([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    expect(sh(['--privileged'], 'grep CapEff /proc/self/status').stdout).toContain(host);
  });

  it('applies the default seccomp profile (unshare of a user namespace is refused)', () => {
    const denied = sh([], 'unshare -U true && echo allowed || echo denied');
    expect(denied.stdout).toMatch(/denied/);
    const allowed = sh(
      ['--security-opt', 'seccomp=unconfined'],
      'unshare -U true && echo allowed || echo denied',
    );
    expect(allowed.stdout).toMatch(/allowed/);
  });

  it('masks and read-only-mounts sensitive /proc and /sys paths', () => {
    // /proc/kcore does not exist on every kernel (not on these machines): check the others.
    expect(sh([], 'wc -c < /proc/keys').stdout.trim()).toBe('0');
    expect(sh([], 'wc -c < /proc/timer_list').stdout.trim()).toBe('0');
    expect(sh([], 'ls /sys/firmware | wc -l').stdout.trim()).toBe('0');
    expect(sh([], 'echo 1 > /proc/sysrq-trigger 2>&1 || echo refused').stdout).toMatch(
      /refused|Read-only/,
    );
    expect(sh([], 'touch /sys/x 2>&1 || echo refused').stdout).toMatch(/Read-only|refused/);
  });

  it('sets no-new-privileges', () => {
    expect(
      sh(['--security-opt', 'no-new-privileges'], 'grep NoNewPrivs /proc/self/status').stdout,
    ).toMatch(/NoNewPrivs:\s+1/);
    expect(sh([], 'grep NoNewPrivs /proc/self/status').stdout).toMatch(/NoNewPrivs:\s+0/);
  });

  it('applies cgroup limits that read back from inside', () => {
    const r = sh(
      [
        '-m',
        '64m',
        '--memory-swap',
        '128m',
        '--cpus',
        '0.5',
        '--cpu-shares',
        '512',
        '--pids-limit',
        '50',
        '--cpuset-cpus',
        '0',
      ],
      [
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
        'cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo noswap',
        'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us',
        'cat /sys/fs/cgroup/cpu/cpu.shares',
        'cat /sys/fs/cgroup/pids/pids.max',
        'cat /sys/fs/cgroup/cpuset/cpuset.cpus',
      ].join('; '),
    );
    const v = r.stdout.trim().split('\n');
    expect(v[0]).toBe('67108864');
    expect(['134217728', 'noswap']).toContain(v[1]);
    expect(v[2]).toBe('50000');
    expect(v[3]).toBe('512');
    expect(v[4]).toBe('50');
    expect(v[5]).toBe('0');
  });

  it('shows limits in inspect HostConfig', () => {
    const id = d
      .cli([
        'create',
        '-m',
        '64m',
        '--pids-limit',
        '50',
        '--cpus',
        '1.5',
        '--ulimit',
        'nofile=1024:2048',
        'busybox',
        'true',
      ])
      .stdout.trim();
    const hc = JSON.parse(d.cli(['inspect', id]).stdout)[0].HostConfig;
    expect(hc.Memory).toBe(67108864);
    expect(hc.PidsLimit).toBe(50);
    expect(hc.NanoCpus).toBe(1500000000);
    expect(hc.Ulimits).toEqual([{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
    expect(sh(['--ulimit', 'nofile=1024:2048'], 'ulimit -n').stdout.trim()).toBe('1024');
    d.cli(['rm', id]);
  });

  it('reports OOM kills (exit 137, State.OOMKilled)', () => {
    const id = d
      .cli([
        'run',
        '-d',
        '-m',
        '16m',
        '--memory-swap',
        '16m',
        'busybox',
        'sh',
        '-c',
        'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done',
      ])
      .stdout.trim();
    expect(d.cli(['wait', id]).stdout.trim()).toBe('137');
    const st = JSON.parse(d.cli(['inspect', id]).stdout)[0].State;
    expect(st.OOMKilled).toBe(true);
    expect(st.ExitCode).toBe(137);
    d.cli(['rm', id]);
  });

  it('gives bridge containers an address and a route to the gateway', () => {
    const r = sh(
      [],
      'ip -4 -o addr show eth0; ip route; ping -c1 -W2 $(ip route | awk "/default/ {print \\$3}") >/dev/null && echo gw-ok',
    );
    const [net] = d.bip.split('.').slice(0, 3).join('.').split('/');
    expect(r.stdout).toContain(`inet ${net}.`);
    expect(r.stdout).toMatch(/gw-ok/);
  });
});
