/**
 * Keeps the kernel's cgroup migration lock warm around a container's start.
 *
 * Moving a process into a cgroup (a write to `cgroup.procs`) takes the kernel's global
 * `cgroup_threadgroup_rwsem` for writing. That lock is a percpu rwsem: its readers (every
 * fork, exec and exit on the machine) take a per-CPU fast path while no writer has come for
 * a while, and the first writer after such a quiet spell switches them to the slow path and
 * waits for an RCU grace period to pass before it may proceed. A grace period is 5–8 ms on an
 * idle machine of this kind and 20 ms or more while its CPUs are busy. Writers that follow
 * within a grace period or so find the readers still on the slow path and pass at once.
 *
 * runc pays that wait on every container start (`runc create` moves the container's init
 * into its cgroups, ~20 ms of its ~35 on these machines) and on every exec (`runc exec`
 * moves the exec's process). Nothing is done in it: it is the kernel waiting out the grace
 * period. So the daemon starts the wait itself, as soon as it knows a start or an exec is
 * coming, by moving itself into the cgroup it is already in (the kernel takes the lock
 * before it finds there is nothing to move, and moves nothing). The grace period then runs
 * while the daemon prepares the container and runc starts up, and runc's own write finds the
 * lock warm, or shares the grace period already under way.
 *
 * The cost: one write to a cgroupfs file per warm-up, done on the libuv pool, where the wait
 * sleeps; and, for a grace period or two after it, fork and exit on the host take the rwsem's
 * slower (shared-counter) read path, which is the state a host starting containers is in
 * anyway.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { Logger } from '../common/index.js';

/**
 * The `cgroup.procs` file of the cgroup a process is in, in the first cgroup hierarchy
 * mounted where it can be reached, from the process's `/proc/<pid>/cgroup` and
 * `/proc/<pid>/mountinfo`; undefined when there is none (no cgroupfs mounted).
 */
export function ownProcsFile(procCgroup: string, mountinfo: string): string | undefined {
  // "hierarchy-ID:controllers:path"; cgroup v2 is "0::path".
  const memberships = new Map<string, string>();
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    memberships.set(m[1] === '0' ? '' : m[2]!, m[3]!);
  }
  for (const line of mountinfo.split('\n')) {
    // ID parent major:minor root mountpoint options [optional...] - fstype source superopts
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const head = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const root = unescapeMount(head[3] ?? '');
    const mountpoint = unescapeMount(head[4] ?? '');
    let cgroupPath: string | undefined;
    if (fstype === 'cgroup2') cgroupPath = memberships.get('');
    else if (fstype === 'cgroup') {
      const opts = new Set(superOpts.split(','));
      for (const [controllers, p] of memberships) {
        if (controllers !== '' && controllers.split(',').every((c) => opts.has(c))) {
          cgroupPath = p;
          break;
        }
      }
    }
    if (cgroupPath === undefined || !mountpoint) continue;
    // A mount of a subtree (root other than /) shows the cgroups under that root only.
    const rel = path.posix.relative(root, cgroupPath);
    if (rel.startsWith('..')) continue;
    return path.posix.join(mountpoint, rel, 'cgroup.procs');
  }
  return undefined;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Move this process into the cgroup it is in now: its membership is read afresh each time,
 * so that a daemon moved meanwhile (by an administrator, a service manager) is not put back.
 * Resolves with the file written; rejects when there is none or the write fails.
 */
async function moveSelf(mountinfo: string): Promise<string> {
  const file = ownProcsFile(await fsp.readFile('/proc/self/cgroup', 'utf8'), mountinfo);
  if (!file) throw new Error('no cgroup hierarchy of this process is mounted');
  await fsp.writeFile(file, String(process.pid));
  return file;
}

export class CgroupLockWarmer {
  private inFlight = false;
  private again = false;

  /** `move` does one warm-up (see moveSelf). */
  constructor(
    private readonly move: () => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  /**
   * A warmer for this process, after one warm-up that shows the write is allowed; undefined
   * (and nothing warmed, ever) where it is not: no cgroupfs, a read-only one, no permission.
   */
  static async open(log: Logger): Promise<CgroupLockWarmer | undefined> {
    try {
      // Mounts are read once: cgroupfs is not remounted under a running daemon.
      const mountinfo = await fsp.readFile('/proc/self/mountinfo', 'utf8');
      const file = await moveSelf(mountinfo);
      log.debug({ file }, 'warming the cgroup migration lock through');
      return new CgroupLockWarmer(() => moveSelf(mountinfo), log);
    } catch (err) {
      log.debug({ err }, 'cgroup lock warm-up not possible');
      return undefined;
    }
  }

  /**
   * Start a warm-up now: a process is about to join its cgroups. One write at a time; a call
   * during one asks for another after it, so the lock stays warm until the last caller's
   * process has joined.
   */
  warm(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    this.move()
      .catch((err: unknown) => this.log.debug({ err }, 'cgroup lock warm-up'))
      .finally(() => {
        this.inFlight = false;
        if (this.again) {
          this.again = false;
          this.warm();
        }
      });
  }
}
