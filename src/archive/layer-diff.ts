import { Readable } from 'node:stream';

import { OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './layer-sanitizer.js';
import { tarDirectory } from './tar-directory.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader } from './tar-format.js';
import { readTar } from './tar-reader.js';

/** Prefix of the xattrs overlayfs keeps for itself (opaque, origin, impure, redirect…). */
const OVERLAY_XATTRS = 'trusted.overlay.';

export interface LayerDiffOptions {
  /**
   * Paths (relative, no leading "/") left out with everything below them: what the runtime
   * created in the upper dir as mount points (/etc/hosts, /proc, /dev/shm…), which Docker
   * keeps in a separate "init" layer so that no commit carries them.
   */
  exclude?: Iterable<string>;
}

/**
 * An overlay upper directory as a layer tar in the OCI/Docker convention, the reverse of
 * applyLayer: a whiteout (a 0:0 character device) becomes an empty `.wh.<name>` file, an
 * opaque directory (xattr trusted.overlay.opaque=y) is followed by `<dir>/.wh..wh..opq`, and
 * overlay's own xattrs are dropped; everything else (modes, owners, mtimes, hard links,
 * symlinks, devices, other xattrs such as security.capability) is archived as GNU tar reads it.
 */
export async function overlayDiff(
  upperDir: string,
  opts: LayerDiffOptions = {},
): Promise<Readable> {
  const exclude = [...(opts.exclude ?? [])].map((p) => p.replace(/^\/+|\/+$/g, ''));
  const excluded = (name: string): boolean =>
    exclude.some((p) => name === p || name.startsWith(`${p}/`));
  const src = await tarDirectory(upperDir);
  return Readable.from(
    (async function* () {
      for await (const { header, body } of readTar(src)) {
        const name = header.name.replace(/\/+$/, '');
        if (excluded(name)) continue;
        if (header.type === 'char' && header.devmajor === 0 && header.devminor === 0) {
          yield encodeHeader(whiteoutEntry(header, whiteoutName(name)));
          continue;
        }
        const xattrs = new Map([...header.xattrs].filter(([k]) => !k.startsWith(OVERLAY_XATTRS)));
        yield encodeHeader({ ...header, xattrs });
        if (header.type === 'file') {
          for await (const chunk of body) yield chunk;
          yield padding(header.size);
        }
        const opaque = header.xattrs.get(OVERLAY_OPAQUE_XATTR)?.toString() === 'y';
        if (header.type === 'dir' && opaque) {
          // Docker gives the marker its directory's permission bits and owner, and no
          // modification time (0).
          yield encodeHeader({
            ...whiteoutEntry(header, `${name}/${WHITEOUT_OPAQUE}`),
            mode: header.mode & 0o777,
            mtime: '0',
          });
        }
      }
      yield END_OF_ARCHIVE;
    })(),
    { objectMode: false },
  );
}

function whiteoutName(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0
    ? `${WHITEOUT_PREFIX}${name}`
    : `${name.slice(0, slash + 1)}${WHITEOUT_PREFIX}${name.slice(slash + 1)}`;
}

/** An empty regular file marking a deletion, owned like what it stands for (as Docker's). */
function whiteoutEntry(like: TarHeader, name: string): TarHeader {
  return {
    name,
    type: 'file',
    mode: 0o600,
    uid: like.uid,
    gid: like.gid,
    size: 0,
    mtime: like.mtime,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
  };
}
