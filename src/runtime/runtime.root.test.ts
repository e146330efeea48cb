/**
 * Real runc + conmon, as root: a busybox bundle per test, everything removed afterwards.
 * Skipped (with the reason printed) when not root or when runc/conmon/busybox are missing.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  rmdirSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../common/index.js';

import {
  Conmon,
  Runc,
  RuntimeStartError,
  attachStdin,
  buildSpec,
  conmonPaths,
  hostBoundingSet,
  readExitCode,
  resize,
  writeSpecSync,
  type ConmonCreateOptions,
  type SpecInput,
} from './index.js';

const RUNC = '/usr/sbin/runc';
const CONMON = '/usr/bin/conmon';
const BUSYBOX = '/bin/busybox';

const missing = [RUNC, CONMON, BUSYBOX, '/usr/bin/socat'].filter((p) => !existsSync(p));
const skipReason =
  process.getuid?.() !== 0 ? 'not root' : missing.length ? `missing ${missing.join(', ')}` : '';
if (skipReason) console.log(`runtime.root.test: skipped: ${skipReason}`);

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(skipReason !== '')('runtime under runc + conmon (root)', () => {
  let dir: string;
  let rootfs: string;
  const cgroupParent = `/wharf-test-${process.pid}`;
  const ids: string[] = [];
  const runcRoot = () => join(dir, 'runc');
  const runc = () => new Runc({ binary: RUNC, root: runcRoot(), logger: silentLogger() });
  const conmon = new Conmon({ binary: CONMON, logger: silentLogger() });

  beforeAll(() => {
    dir = mkdtempSync('/tmp/wharf-rt-');
    rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
    for (const applet of execFileSync(BUSYBOX, ['--list']).toString().split('\n')) {
      if (applet && applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
    }
  });

  afterAll(async () => {
    if (!dir) return;
    for (const id of ids)
      await runc()
        .delete(id, { force: true })
        .catch(() => undefined);
    for (const ctrl of [
      'memory',
      'cpu',
      'cpuacct',
      'cpuset',
      'pids',
      'blkio',
      'devices',
      'freezer',
      'systemd',
      'unified',
    ]) {
      try {
        rmdirSync(join('/sys/fs/cgroup', ctrl, cgroupParent));
      } catch {
        // not created for this controller
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Spec + bundle + conmon create for one container. */
  async function create(
    name: string,
    args: string[],
    opts: {
      tty?: boolean;
      openStdin?: boolean;
      stdinOnce?: boolean;
      hostConfig?: SpecInput['hostConfig'];
    } = {},
  ) {
    const id = `${name}-${process.pid}`;
    ids.push(id);
    const bundle = join(dir, id);
    mkdirSync(bundle);
    const spec = buildSpec({
      id,
      rootfs,
      config: {},
      hostConfig: opts.hostConfig ?? {},
      args,
      env: ['PATH=/bin', 'TERM=xterm'],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [] },
      hostname: name,
      terminal: opts.tty ?? false,
      netns: { mode: 'new' },
      cgroupsPath: `${cgroupParent}/${id}`,
      hostBoundingSet: hostBoundingSet(),
    });
    writeSpecSync(bundle, spec);
    const o: ConmonCreateOptions = {
      id,
      bundle,
      runcBinary: RUNC,
      runcRoot: runcRoot(),
      pidFile: join(bundle, 'pid'),
      conmonPidFile: join(bundle, 'conmon.pid'),
      exitDir: join(dir, 'exits'),
      socketDir: join(dir, 'sock'),
      persistDir: join(bundle, 'persist'),
      logPath: join(bundle, 'ctr.log'),
      tty: opts.tty ?? false,
      openStdin: opts.openStdin ?? false,
      stdinOnce: opts.stdinOnce,
    };
    const started = await conmon.create(o);
    return { id, bundle, o, ...started };
  }

  const exitCode = (id: string) => waitFor(() => readExitCode(join(dir, 'exits'), id));
  const logText = (bundle: string, file = 'ctr.log') => readFileSync(join(bundle, file), 'utf8');

  it('runs a container: output in the k8s-file log, exit code in the exit file', async () => {
    const c = await create('basic', ['sh', '-c', 'echo hi; echo oops >&2; exit 3']);
    expect((await runc().state(c.id)).status).toBe('created');
    // conmon double-forked: its parent is not us.
    const ppid = Number(
      readFileSync(`/proc/${c.conmonPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1],
    );
    expect(ppid).not.toBe(process.pid);
    await runc().start(c.id);
    expect(await exitCode(c.id)).toBe(3);
    const log = logText(c.bundle);
    expect(log).toMatch(/^\S+ stdout F hi$/m);
    expect(log).toMatch(/^\S+ stderr F oops$/m);
    await runc().delete(c.id);
    await expect(runc().state(c.id)).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('execs, reads the memory limit back from the cgroup, and reports 137 for SIGKILL', async () => {
    const c = await create('long', ['sleep', '60'], { hostConfig: { Memory: 64 * 1024 * 1024 } });
    await runc().start(c.id);
    const limit = readFileSync(
      join('/sys/fs/cgroup/memory', cgroupParent, c.id, 'memory.limit_in_bytes'),
      'utf8',
    );
    expect(Number(limit)).toBe(64 * 1024 * 1024);

    const execDir = join(c.bundle, 'exec1');
    const execExits = join(execDir, 'exits');
    const e = await conmon.exec({
      containerId: c.id,
      execId: `exec1-${process.pid}`,
      execDir,
      process: {
        args: ['sh', '-c', 'echo from-exec; exit 5'],
        env: ['PATH=/bin'],
        cwd: '/',
        user: { uid: 0, gid: 0 },
        terminal: false,
      },
      runcBinary: RUNC,
      runcRoot: runcRoot(),
      pidFile: join(execDir, 'pid'),
      conmonPidFile: join(execDir, 'conmon.pid'),
      exitDir: execExits,
      socketDir: join(dir, 'sock'),
      persistDir: join(execDir, 'persist'),
      logPath: join(execDir, 'exec.log'),
      tty: false,
      openStdin: false,
    });
    expect(e.pid).toBeGreaterThan(0);
    expect(await waitFor(() => readExitCode(execExits, c.id))).toBe(5);
    expect(logText(execDir, 'exec.log')).toMatch(/stdout F from-exec/);

    await expect(runc().ps(c.id)).resolves.toContain(c.pid);
    await runc().kill(c.id, 'KILL');
    expect(await exitCode(c.id)).toBe(137);
    await expect(runc().kill(c.id, 'KILL')).rejects.toMatchObject({ kind: 'conflict' });
  });

  it('resizes a tty container and feeds it stdin through the attach socket', async () => {
    const c = await create('tty', ['sh', '-c', 'read line; echo "got $line"; stty size'], {
      tty: true,
      openStdin: true,
      stdinOnce: true,
    });
    await runc().start(c.id);
    const paths = conmonPaths({ socketDir: join(dir, 'sock'), cuuid: c.id, bundle: c.bundle });
    await resize(paths.ctl, 33, 111);
    const att = attachStdin(paths.attach);
    att.stdin.write('hello\n');
    expect(await exitCode(c.id)).toBe(0);
    await att.close();
    expect(logText(c.bundle)).toMatch(/got hello/);
    expect(logText(c.bundle)).toMatch(/33 111/);
  });

  it('closing stdin gives a StdinOnce container EOF', async () => {
    const c = await create('stdin', ['sh', '-c', 'cat; echo done'], {
      openStdin: true,
      stdinOnce: true,
    });
    await runc().start(c.id);
    const att = attachStdin(
      conmonPaths({ socketDir: join(dir, 'sock'), cuuid: c.id, bundle: c.bundle }).attach,
    );
    att.stdin.write('line one\n');
    await att.close();
    expect(await exitCode(c.id)).toBe(0);
    expect(logText(c.bundle)).toMatch(/stdout F line one\n.*stdout F done/);
  });

  it('classifies a missing command as exit 127', async () => {
    const err = await create('nosuch', ['nosuch']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeStartError);
    expect((err as RuntimeStartError).exitCode).toBe(127);
    expect((err as Error).message).toContain('exec: "nosuch": executable file not found in $PATH');
  });
});
