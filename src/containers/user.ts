import { promises as fsp } from 'node:fs';

import { invalidArgument, isErrno } from '../common/index.js';
import { resolveInRoot } from './confine.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, uid, gid });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

/**
 * Docker's `-u` resolution: `name`, `uid`, `name:group`, `uid:gid` (any mix), looked up in the
 * image's /etc/passwd and /etc/group. A numeric uid without a passwd entry is allowed (gid 0);
 * a name without one is an error. Supplementary groups are those listing the user, plus GroupAdd.
 */
export function resolveUser(
  spec: string,
  passwd: PasswdEntry[],
  groups: GroupEntry[],
  groupAdd: string[] = [],
): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  let uid = 0;
  let gid = 0;
  let name: string | undefined;
  if (userPart === '') {
    const root = passwd.find((p) => p.uid === 0);
    name = root?.name;
  } else if (isNumeric(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    if (entry) {
      gid = entry.gid;
      name = entry.name;
    }
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry)
      throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  }
  if (groupPart !== undefined && groupPart !== '') {
    gid = lookupGroup(groupPart, groups);
  }
  const additional = new Set<number>();
  if (name !== undefined && (groupPart === undefined || groupPart === '')) {
    for (const g of groups) if (g.members.includes(name) && g.gid !== gid) additional.add(g.gid);
  }
  for (const g of groupAdd) additional.add(lookupGroup(g, groups));
  return { uid, gid, additionalGids: [...additional] };
}

function lookupGroup(spec: string, groups: GroupEntry[]): number {
  if (isNumeric(spec)) return Number(spec);
  const g = groups.find((e) => e.name === spec);
  if (!g) throw invalidArgument(`unable to find group ${spec}: no matching entries in group file`);
  return g.gid;
}

async function readInRoot(rootfs: string, file: string): Promise<string> {
  try {
    return await fsp.readFile(await resolveInRoot(rootfs, file), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return '';
    throw err;
  }
}

/** A rootfs's /etc/passwd and /etc/group ('' for a missing one), as user lookups read them. */
export interface UserFiles {
  passwd: string;
  group: string;
}

/** The user files of a mounted rootfs (symlinks confined to it). */
export async function userFilesIn(rootfs: string): Promise<UserFiles> {
  const [passwd, group] = await Promise.all([
    readInRoot(rootfs, '/etc/passwd'),
    readInRoot(rootfs, '/etc/group'),
  ]);
  return { passwd, group };
}

/** A fully numeric uid:gid with no --group-add needs no file; undefined otherwise. */
export function numericUser(spec: string, groupAdd: readonly string[]): ResolvedUser | undefined {
  if (!/^\d+:\d+$/.test(spec) || groupAdd.length > 0) return undefined;
  const [u, g] = spec.split(':');
  return { uid: Number(u), gid: Number(g), additionalGids: [] };
}

/** Resolve a user spec against a rootfs's user files. */
export function resolveUserIn(
  files: UserFiles,
  spec: string,
  groupAdd: readonly string[] = [],
): ResolvedUser {
  return resolveUser(spec, parsePasswd(files.passwd), parseGroup(files.group), [...groupAdd]);
}

/** Resolve a user spec against the files of a mounted rootfs (symlinks confined to it). */
export async function resolveUserInRootfs(
  rootfs: string,
  spec: string,
  groupAdd: string[] = [],
): Promise<ResolvedUser> {
  return numericUser(spec, groupAdd) ?? resolveUserIn(await userFilesIn(rootfs), spec, groupAdd);
}
