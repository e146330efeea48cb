import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { invalidArgument } from '../../common/index.js';
import type { DeviceMapping } from '../../api-types/index.js';
import type { OciDevice, OciDeviceCgroup } from '../../oci/index.js';

/**
 * Docker's device cgroup rules for a non-privileged container: deny everything, then allow
 * null, zero, full, urandom, random, tty, console, and deny fuse. (runc appends its own
 * defaults for /dev/pts, /dev/ptmx and mknod after these.)
 */
export function defaultDeviceRules(): OciDeviceCgroup[] {
  const allow = (major: number, minor: number): OciDeviceCgroup => ({
    allow: true,
    type: 'c',
    major,
    minor,
    access: 'rwm',
  });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5),
    allow(1, 3),
    allow(1, 9),
    allow(1, 8),
    allow(5, 0),
    allow(5, 1),
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
  ];
}

/** Major and minor numbers of a dev_t (glibc's encoding). */
export function devNumbers(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

/** major:minor of the device node at `path` (for blkio limits), following symlinks. */
export function deviceNumbersOf(path: string): { major: number; minor: number } {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (err) {
    throw invalidArgument(`stat ${path}: ${(err as Error).message}`, err);
  }
  return devNumbers(st.rdev);
}

/** The OCI device for a device node, or undefined if `path` is not a char/block device. */
export function deviceFromPath(path: string): OciDevice | undefined {
  const st = lstatSync(path, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return {
    type,
    path,
    ...devNumbers(st.rdev),
    fileMode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}

const SKIPPED_DEV_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every device node under /dev (a privileged container gets them all), as containerd lists them. */
export function hostDevices(root = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIPPED_DEV_DIRS.has(e.name)) walk(p);
        continue;
      }
      if (p === join(root, 'console')) continue;
      try {
        const d = deviceFromPath(p);
        if (d) out.push(d);
      } catch {
        // Devices can vanish while we walk (hot-unplug); skip them.
      }
    }
  };
  walk(root);
  return out;
}

/**
 * Devices and cgroup rules for one HostConfig.Devices entry. A directory maps every device
 * under it. Error text is Docker's.
 */
export function devicesFromMapping(m: DeviceMapping): {
  devices: OciDevice[];
  rules: OciDeviceCgroup[];
} {
  const perms = m.CgroupPermissions || 'rwm';
  const inContainer = m.PathInContainer || m.PathOnHost;
  let resolved = m.PathOnHost;
  try {
    if (lstatSync(resolved).isSymbolicLink()) resolved = realpathSync(resolved);
  } catch (err) {
    throw invalidArgument(
      `error gathering device information while adding custom device ${JSON.stringify(m.PathOnHost)}: ${(err as Error).message}`,
      err,
    );
  }
  const devices: OciDevice[] = [];
  const one = deviceFromPath(resolved);
  if (one) {
    devices.push({ ...one, path: inContainer });
  } else if (statSync(resolved).isDirectory()) {
    for (const d of hostDevices(resolved))
      devices.push({ ...d, path: inContainer + d.path.slice(resolved.length) });
  }
  if (devices.length === 0) {
    throw invalidArgument(
      `error gathering device information while adding custom device ${JSON.stringify(m.PathOnHost)}: not a device node`,
    );
  }
  const rules = devices.map((d) => ({
    allow: true,
    type: d.type,
    major: d.major,
    minor: d.minor,
    access: perms,
  }));
  return { devices, rules };
}

const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** Parse HostConfig.DeviceCgroupRules ("c 1:3 rwm", "a *:* m"); "*" becomes -1 as in Docker. */
export function parseDeviceCgroupRule(rule: string): OciDeviceCgroup {
  const m = CGROUP_RULE.exec(rule);
  if (!m) throw invalidArgument(`invalid device cgroup rule format: '${rule}'`);
  return {
    allow: true,
    type: m[1]!,
    major: m[2] === '*' ? -1 : Number(m[2]),
    minor: m[3] === '*' ? -1 : Number(m[3]),
    access: m[4]!,
  };
}
