import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { silentLogger } from '../common/index.js';

import { CgroupLockWarmer, ownProcsFile } from './cgroup-warm.js';

// /proc/self/mountinfo and /proc/self/cgroup of a hybrid host (v1 controllers + unified).
const HYBRID_MOUNTS = `22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUP = `9:name=systemd:/system.slice/wharf.service
4:memory:/process_api/9c13
1:cpu:/
0::/system.slice/wharf.service
`;

describe('ownProcsFile', () => {
  it("picks the first mounted hierarchy the process is in, at the process's own cgroup", () => {
    expect(ownProcsFile(HYBRID_CGROUP, HYBRID_MOUNTS)).toBe('/sys/fs/cgroup/cpu/cgroup.procs');
    // Without the cpu hierarchy: memory, where the process is not at the root.
    const noCpu = HYBRID_MOUNTS.split('\n')
      .filter((l) => !l.includes('/cpu '))
      .join('\n');
    expect(ownProcsFile(HYBRID_CGROUP, noCpu)).toBe(
      '/sys/fs/cgroup/memory/process_api/9c13/cgroup.procs',
    );
  });

  it('matches named and co-mounted v1 hierarchies by all their controllers', () => {
    const mounts = `40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
`;
    expect(ownProcsFile('3:cpu,cpuacct:/a\n9:name=systemd:/b\n', mounts)).toBe(
      '/sys/fs/cgroup/systemd/b/cgroup.procs',
    );
    expect(ownProcsFile('3:cpu,cpuacct:/a\n', mounts)).toBe(
      '/sys/fs/cgroup/cpu,cpuacct/a/cgroup.procs',
    );
  });

  it('uses cgroup v2 alone', () => {
    const mounts = '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n';
    expect(ownProcsFile('0::/user.slice/x.scope\n', mounts)).toBe(
      '/sys/fs/cgroup/user.slice/x.scope/cgroup.procs',
    );
    expect(ownProcsFile('0::/\n', mounts)).toBe('/sys/fs/cgroup/cgroup.procs');
  });

  it('resolves a mount of a subtree, and skips one the cgroup is outside of', () => {
    const mounts = `50 40 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw
51 40 0:27 /other /mnt/with\\040space rw - cgroup cgroup rw,pids
`;
    expect(ownProcsFile('0::/docker/abc/inner\n', mounts)).toBe(
      '/sys/fs/cgroup/inner/cgroup.procs',
    );
    expect(ownProcsFile('0::/elsewhere\n5:pids:/other/x\n', mounts)).toBe(
      '/mnt/with space/x/cgroup.procs',
    );
  });

  it('finds nothing without a cgroup mount or membership', () => {
    expect(ownProcsFile(HYBRID_CGROUP, '22 1 254:0 / / rw - ext4 /dev/vda rw\n')).toBeUndefined();
    expect(ownProcsFile('', HYBRID_MOUNTS)).toBeUndefined();
  });
});

describe('CgroupLockWarmer', () => {
  it('writes one at a time, and once more after a write for calls made during it', async () => {
    const pending: Array<() => void> = [];
    let writes = 0;
    const w = new CgroupLockWarmer(async () => {
      writes++;
      await new Promise<void>((r) => pending.push(r));
    }, silentLogger());
    w.warm();
    w.warm();
    w.warm();
    expect(writes).toBe(1);
    pending.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(writes).toBe(2); // the calls during the first asked for one more, not two
    pending.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(writes).toBe(2);
    w.warm();
    expect(writes).toBe(3);
    pending.shift()!();
  });

  it('keeps warming after a failed write', async () => {
    let writes = 0;
    const w = new CgroupLockWarmer(() => {
      writes++;
      return Promise.reject(new Error('EBUSY'));
    }, silentLogger());
    w.warm();
    await new Promise((r) => setImmediate(r));
    w.warm();
    expect(writes).toBe(2);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'as root: opens on this host and leaves the process in its cgroups',
    async () => {
      const before = readFileSync('/proc/self/cgroup', 'utf8');
      const w = await CgroupLockWarmer.open(silentLogger());
      if (!ownProcsFile(before, readFileSync('/proc/self/mountinfo', 'utf8'))) {
        expect(w).toBeUndefined();
        return;
      }
      expect(w).toBeInstanceOf(CgroupLockWarmer);
      w!.warm();
      w!.warm();
      await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync('/proc/self/cgroup', 'utf8')).toBe(before);
    },
  );

  it.skipIf(process.getuid?.() !== 0)(
    'as root: a process moved to another cgroup meanwhile is not moved back',
    async () => {
      const own = ownProcsFile(
        readFileSync('/proc/self/cgroup', 'utf8'),
        readFileSync('/proc/self/mountinfo', 'utf8'),
      );
      const w = await CgroupLockWarmer.open(silentLogger());
      if (!own || !w) return;
      const other = path.join(path.dirname(own), `wharf-warm-test-${process.pid}`);
      mkdirSync(other);
      try {
        writeFileSync(path.join(other, 'cgroup.procs'), String(process.pid));
        const moved = readFileSync('/proc/self/cgroup', 'utf8');
        expect(moved).toContain(`wharf-warm-test-${process.pid}`);
        w.warm();
        await new Promise((r) => setTimeout(r, 100));
        expect(readFileSync('/proc/self/cgroup', 'utf8')).toBe(moved);
      } finally {
        writeFileSync(own, String(process.pid));
        rmdirSync(other);
      }
    },
  );
});
