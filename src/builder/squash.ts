/**
 * `--squash`, as Docker's (daemon/images SquashImage): the result keeps the layers of the
 * target stage's base image and adds one layer holding everything the build changed above
 * it; the history is kept, every entry past the base's marked empty_layer, plus one
 * `merge <image> to <base>` entry for the new layer (`create new from <image>` on scratch).
 *
 * The layer is Docker's naive diff of two trees: a writable snapshot of the base is mounted
 * and made equal to the built filesystem (what is absent is removed, what differs in type,
 * mode, owner, size, mtime or target is copied), and the snapshot's overlay diff is the
 * layer: whiteouts appear only for what the base had, nothing for files made and deleted
 * again in between. Neither tree's symlinks are followed: the walk is top-down over lstat,
 * and an entry of the wrong type is replaced before anything below it is touched.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import {
  encodeHeader,
  END_OF_ARCHIVE,
  padding,
  readTar,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
} from '../archive/index.js';
import { isErrno, run } from '../common/index.js';
import type { Digest, ImageConfig } from '../oci/index.js';
import type { StageBase } from './build-run.js';
import { Limiter } from './limit.js';
import type { IngestedLayer } from './ports.js';
import { layerStep, withMounted, type StepEnv } from './steps.js';

/** The squashed layer: the built tree at `top` as one layer on `base`. */
export async function squashLayer(
  env: StepEnv,
  base: Digest | undefined,
  top: Digest | undefined,
): Promise<IngestedLayer> {
  const layer = await withMounted(env, top, (built) =>
    layerStep(
      env,
      base,
      async (root) => {
        await new TreeSync().dir(built, root);
        return true;
      },
      naiveWhiteouts,
    ),
  );
  return layer!;
}

/**
 * Whiteouts as Docker's naive diff writes them (mode 0, owner 0:0), not as its overlay diff
 * does (0600, the owner of what they hide): the squashed layer is the former's.
 */
function naiveWhiteouts(tar: Readable): Readable {
  return Readable.from(
    (async function* () {
      for await (const { header, body } of readTar(tar)) {
        const base = header.name.replace(/\/+$/, '').split('/').at(-1) ?? '';
        const whiteout =
          header.type === 'file' && base.startsWith(WHITEOUT_PREFIX) && base !== WHITEOUT_OPAQUE;
        yield encodeHeader(whiteout ? { ...header, mode: 0, uid: 0, gid: 0 } : header);
        if (header.type === 'file') {
          for await (const chunk of body) yield chunk as Buffer;
          yield padding(header.size);
        }
      }
      yield END_OF_ARCHIVE;
    })(),
    { objectMode: false },
  );
}

/** The squashed image's config: `built`'s, on the base's layers plus `diffID`. */
export function squashedConfig(
  image: ImageConfig,
  builtId: string,
  base: StageBase,
  diffID: Digest,
): ImageConfig {
  const now = new Date().toISOString();
  const history = (image.history ?? []).map((h, i) =>
    i >= base.historyLength ? { ...h, empty_layer: true } : h,
  );
  history.push({
    created: now,
    comment: base.id ? `merge ${builtId} to ${base.id}` : `create new from ${builtId}`,
  });
  return {
    ...structuredClone(image),
    created: now,
    rootfs: { type: 'layers', diff_ids: [...base.diffIDs, diffID] },
    history,
  };
}

const kind = (st: Stats): string =>
  st.isDirectory()
    ? 'd'
    : st.isSymbolicLink()
      ? 'l'
      : st.isFile()
        ? 'f'
        : st.isFIFO()
          ? 'p'
          : st.isCharacterDevice()
            ? 'c'
            : st.isBlockDevice()
              ? 'b'
              : 's';

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

class TreeSync {
  private readonly io = new Limiter(16);
  /** Hard links: `dev:ino` in the built tree → the path written for it. */
  private readonly links = new Map<string, Promise<string>>();

  /** Make directory `dst` hold what `src` holds (both exist and are directories). */
  async dir(src: string, dst: string): Promise<void> {
    const [want, have] = await Promise.all([fsp.readdir(src), fsp.readdir(dst)]);
    const keep = new Set(want);
    for (const n of have)
      if (!keep.has(n)) await fsp.rm(path.join(dst, n), { recursive: true, force: true });
    // Files in parallel, subdirectories after (their own entries in parallel again).
    const dirs: string[] = [];
    await Promise.all(
      want.map(async (n) => {
        if (await this.entry(path.join(src, n), path.join(dst, n))) dirs.push(n);
      }),
    );
    for (const n of dirs.sort()) await this.dir(path.join(src, n), path.join(dst, n));
    // After the children, whose changes touch the directory's mtime.
    const [s, d] = await Promise.all([fsp.lstat(src), fsp.lstat(dst)]);
    if (s.mtimeMs !== d.mtimeMs) await fsp.utimes(dst, s.atime, s.mtime);
  }

  /** Sync one entry; true when it is a directory still to descend into. */
  private async entry(src: string, dst: string): Promise<boolean> {
    const s = await fsp.lstat(src);
    let d = await lstatOrUndefined(dst);
    if (d && kind(d) !== kind(s)) {
      await fsp.rm(dst, { recursive: true, force: true });
      d = undefined;
    }
    if (s.isDirectory()) {
      if (!d) await fsp.mkdir(dst);
      if (!d || d.uid !== s.uid || d.gid !== s.gid) await fsp.lchown(dst, s.uid, s.gid);
      if (!d || (d.mode & 0o7777) !== (s.mode & 0o7777)) await fsp.chmod(dst, s.mode & 0o7777);
      return true;
    }
    const same =
      d !== undefined &&
      d.size === s.size &&
      d.mode === s.mode &&
      d.uid === s.uid &&
      d.gid === s.gid &&
      d.mtimeMs === s.mtimeMs &&
      d.rdev === s.rdev &&
      (!s.isSymbolicLink() || (await fsp.readlink(src)) === (await fsp.readlink(dst)));
    const key = `${s.dev}:${s.ino}`;
    if (same) {
      if (s.nlink > 1 && !this.links.has(key)) this.links.set(key, Promise.resolve(dst));
      return false;
    }
    if (d) await fsp.rm(dst, { force: true });
    const first = s.isFile() && s.nlink > 1 ? this.links.get(key) : undefined;
    if (first !== undefined) {
      await fsp.link(await first, dst);
      return false;
    }
    const done = this.io.run(async () => {
      if (s.isSymbolicLink()) await fsp.symlink(await fsp.readlink(src), dst);
      else if (s.isFile()) await fsp.copyFile(src, dst);
      else if (s.isFIFO()) await run(['mkfifo', '--', dst]);
      else if (s.isCharacterDevice() || s.isBlockDevice()) {
        const major = Math.floor(s.rdev / 256);
        const minor = s.rdev % 256;
        await run(['mknod', '--', dst, s.isCharacterDevice() ? 'c' : 'b', `${major}`, `${minor}`]);
      } else return; // sockets are not part of an image
      await fsp.lchown(dst, s.uid, s.gid);
      if (!s.isSymbolicLink()) await fsp.chmod(dst, s.mode & 0o7777);
      await fsp.lutimes(dst, s.atime, s.mtime);
    });
    // Registered before the copy ends, so a link met meanwhile waits for it.
    if (s.isFile() && s.nlink > 1)
      this.links.set(
        key,
        done.then(() => dst),
      );
    await done;
    return false;
  }
}
