import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { parseGroup, parsePasswd, resolveUser, resolveUserInRootfs } from './user.js';

const PASSWD = `root:x:0:0:root:/root:/bin/sh
# a comment:x:1:1
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

bad:x:notanumber:0::/:/bin/sh
short:x:5
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
app:x:1000:1000::/home/app:/bin/sh
`;

const GROUP = `root:x:0:
daemon:x:1:
www-data:x:33:app
app:x:1000:
wheel:x:10:root,app
audio:x:29:app,other
broken:x:nope:app
staff:x:50
`;

const passwd = parsePasswd(PASSWD);
const groups = parseGroup(GROUP);

describe('parsePasswd', () => {
  it('keeps well-formed entries and skips comments, blanks and bad ids', () => {
    expect(passwd).toEqual([
      { name: 'root', uid: 0, gid: 0 },
      { name: 'daemon', uid: 1, gid: 1 },
      { name: 'www-data', uid: 33, gid: 33 },
      { name: 'app', uid: 1000, gid: 1000 },
    ]);
  });
});

describe('parseGroup', () => {
  it('parses members and skips bad gids', () => {
    expect(groups).toEqual([
      { name: 'root', gid: 0, members: [] },
      { name: 'daemon', gid: 1, members: [] },
      { name: 'www-data', gid: 33, members: ['app'] },
      { name: 'app', gid: 1000, members: [] },
      { name: 'wheel', gid: 10, members: ['root', 'app'] },
      { name: 'audio', gid: 29, members: ['app', 'other'] },
      { name: 'staff', gid: 50, members: [] },
    ]);
  });
});

describe('resolveUser', () => {
  it('resolves a name to its uid, gid and supplementary groups', () => {
    expect(resolveUser('app', passwd, groups)).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [33, 10, 29],
    });
  });

  it('resolves an empty spec to root', () => {
    expect(resolveUser('', passwd, groups)).toEqual({ uid: 0, gid: 0, additionalGids: [10] });
  });

  it('resolves a uid with an entry like its name', () => {
    expect(resolveUser('33', passwd, groups)).toEqual({ uid: 33, gid: 33, additionalGids: [] });
    expect(resolveUser('1000', passwd, groups).additionalGids).toEqual([33, 10, 29]);
  });

  it('allows a numeric uid without an entry, with gid 0', () => {
    expect(resolveUser('4242', passwd, groups)).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
    expect(resolveUser('4242', [], [])).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
  });

  it("refuses an unknown name with Docker's message", () => {
    expect(() => resolveUser('nobody', passwd, groups)).toThrow(
      'unable to find user nobody: no matching entries in passwd file',
    );
    expect(() => resolveUser('nobody', passwd, groups)).toThrowError(
      expect.objectContaining({ kind: 'invalid-argument' }),
    );
  });

  it('resolves name:group and uid:gid, without membership groups', () => {
    expect(resolveUser('app:wheel', passwd, groups)).toEqual({
      uid: 1000,
      gid: 10,
      additionalGids: [],
    });
    expect(resolveUser('1000:50', passwd, groups)).toEqual({
      uid: 1000,
      gid: 50,
      additionalGids: [],
    });
    expect(resolveUser('4242:4343', [], [])).toEqual({ uid: 4242, gid: 4343, additionalGids: [] });
    expect(resolveUser('app:audio', passwd, groups).gid).toBe(29);
    expect(resolveUser('33:staff', passwd, groups)).toEqual({
      uid: 33,
      gid: 50,
      additionalGids: [],
    });
  });

  it('treats a trailing colon as no group', () => {
    expect(resolveUser('app:', passwd, groups)).toEqual(resolveUser('app', passwd, groups));
  });

  it("refuses an unknown group with Docker's message", () => {
    expect(() => resolveUser('app:nogroup', passwd, groups)).toThrow(
      'unable to find group nogroup: no matching entries in group file',
    );
    expect(() => resolveUser('0:nogroup', passwd, groups)).toThrowError(
      expect.objectContaining({ kind: 'invalid-argument' }),
    );
  });

  it('does not repeat the primary gid among supplementary groups', () => {
    const g = parseGroup('app:x:1000:app\nwheel:x:10:app\n');
    expect(resolveUser('app', passwd, g).additionalGids).toEqual([10]);
  });

  it('adds GroupAdd by name or number, once each', () => {
    expect(resolveUser('daemon', passwd, groups, ['staff', '77', 'staff'])).toEqual({
      uid: 1,
      gid: 1,
      additionalGids: [50, 77],
    });
    expect(resolveUser('app:daemon', passwd, groups, ['wheel']).additionalGids).toEqual([10]);
    expect(resolveUser('app', passwd, groups, ['wheel']).additionalGids).toEqual([33, 10, 29]);
    expect(() => resolveUser('app', passwd, groups, ['nogroup'])).toThrow(
      'unable to find group nogroup: no matching entries in group file',
    );
  });
});

describe('resolveUserInRootfs', () => {
  let root: string;
  let outside: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'wharf-user-'));
    outside = await mkdtemp(path.join(tmpdir(), 'wharf-user-outside-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it("reads the image's passwd and group files", async () => {
    await mkdir(path.join(root, 'etc'));
    await writeFile(path.join(root, 'etc/passwd'), PASSWD);
    await writeFile(path.join(root, 'etc/group'), GROUP);
    expect(await resolveUserInRootfs(root, 'app', ['staff'])).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [33, 10, 29, 50],
    });
  });

  it('treats missing files as empty', async () => {
    expect(await resolveUserInRootfs(root, '1234')).toEqual({
      uid: 1234,
      gid: 0,
      additionalGids: [],
    });
    expect(await resolveUserInRootfs(root, '5:6')).toEqual({ uid: 5, gid: 6, additionalGids: [] });
    await expect(resolveUserInRootfs(root, 'app')).rejects.toThrow(
      'unable to find user app: no matching entries in passwd file',
    );
  });

  it('follows an absolute /etc symlink inside the rootfs, not on the host', async () => {
    await mkdir(path.join(outside, 'etc'));
    await writeFile(path.join(outside, 'etc/passwd'), 'evil:x:0:0::/:/bin/sh\n');
    await mkdir(path.join(root, 'real'));
    await writeFile(path.join(root, 'real/passwd'), PASSWD);
    // Absolute target: inside the container it means <root>/real, never the host's path.
    await symlink('/real', path.join(root, 'etc'));
    expect((await resolveUserInRootfs(root, 'www-data')).uid).toBe(33);
    await rm(path.join(root, 'etc'));
    await symlink(path.join(outside, 'etc'), path.join(root, 'etc'));
    await expect(resolveUserInRootfs(root, 'evil')).rejects.toThrow('unable to find user evil');
  });
});
