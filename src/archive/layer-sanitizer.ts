import path from 'node:path';

import { invalidArgument } from '../common/index.js';
import { displayName, type TarHeader } from './tar-format.js';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

type Kind = 'dir' | 'symlink' | 'other';

/**
 * The cleaned, layer-relative form of a tar path ('.' for the root), or an invalidArgument
 * error for absolute paths, `..` components and NUL bytes. Names are latin1 byte strings.
 */
export function cleanEntryPath(name: string, what = 'path'): string {
  if (name.includes('\0')) throw invalidArgument(`invalid layer: ${what} contains a NUL byte`);
  if (name.startsWith('/')) {
    throw invalidArgument(`invalid layer: absolute ${what} "${displayName(name)}" is not allowed`);
  }
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw invalidArgument(`invalid layer: ${what} "${displayName(name)}" contains ".."`);
    }
    parts.push(part);
  }
  return parts.length === 0 ? '.' : parts.join('/');
}

/**
 * Turns the entries of an untrusted layer tar into entries safe to hand to GNU tar, in order:
 * paths are cleaned and confined, no entry may go through a symlink or non-directory created
 * earlier in this layer, hard links must point at something this layer created, `.wh.<name>`
 * becomes an overlay whiteout (char device 0:0), `.wh..wh..opq` becomes the opaque xattr on
 * its directory, and overlay's own trusted.overlay.* xattrs are never taken from the input.
 *
 * Because the destination starts empty and only this layer writes to it, what this class has
 * seen is exactly what exists on disk.
 */
export class LayerSanitizer {
  private readonly seen = new Map<string, Kind>();
  private readonly dirHeaders = new Map<string, TarHeader>();
  private readonly opaque = new Set<string>();
  droppedXattrs = 0;

  /** The entries to emit for one input entry (none, one, or a directory re-emitted opaque). */
  process(h: TarHeader): TarHeader[] {
    const p = cleanEntryPath(h.name);
    this.checkParents(p, h.name);
    const dir = path.posix.dirname(p);
    const base = path.posix.basename(p);
    if (base === WHITEOUT_OPAQUE) return [this.markOpaque(dir, h)];
    // aufs bookkeeping (.wh..wh.plnk/, .wh..wh.aufs...) lives at the root: skip all of it.
    if (base.startsWith(WHITEOUT_META_PREFIX) || p.startsWith(WHITEOUT_META_PREFIX)) return [];
    if (base.startsWith(WHITEOUT_PREFIX))
      return [this.whiteout(dir, base.slice(WHITEOUT_PREFIX.length), h)];

    const out: TarHeader = { ...h, name: p, xattrs: this.filterXattrs(h.xattrs) };
    let kind: Kind = h.type === 'dir' ? 'dir' : h.type === 'symlink' ? 'symlink' : 'other';
    const prev = this.seen.get(p);
    if (h.type === 'dir' && prev === 'symlink') {
      // GNU tar would keep the symlink and chmod/chown whatever it points at.
      throw invalidArgument(`invalid layer: directory "${displayName(h.name)}" replaces a symlink`);
    }
    if (h.type === 'link') {
      const target = cleanEntryPath(h.linkname, 'hard link target');
      this.checkParents(target, h.linkname);
      const targetKind = this.seen.get(target);
      if (targetKind === undefined || targetKind === 'dir') {
        throw invalidArgument(
          `invalid layer: hard link "${displayName(h.name)}" points outside the layer ("${displayName(h.linkname)}")`,
        );
      }
      out.linkname = target;
      out.size = 0;
      kind = targetKind; // a hard link to a symlink is a symlink
    }
    if (h.type === 'dir') {
      this.dirHeaders.set(p, out);
      if (this.opaque.has(p)) out.xattrs.set(OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
    }
    if (h.type !== 'file') out.size = 0;
    this.seen.set(p, kind);
    return [out];
  }

  private checkParents(p: string, raw: string): void {
    let i = p.indexOf('/');
    while (i !== -1) {
      const kind = this.seen.get(p.slice(0, i));
      if (kind === 'symlink') {
        throw invalidArgument(
          `invalid layer: "${displayName(raw)}" has a symlinked parent directory ("${displayName(p.slice(0, i))}")`,
        );
      }
      if (kind === 'other') {
        throw invalidArgument(`invalid layer: parent of "${displayName(raw)}" is not a directory`);
      }
      i = p.indexOf('/', i + 1);
    }
  }

  private markOpaque(dir: string, h: TarHeader): TarHeader {
    this.opaque.add(dir);
    const known = this.dirHeaders.get(dir);
    const base: TarHeader = known ?? { ...h, mode: 0o755, uid: 0, gid: 0, xattrs: new Map() };
    const xattrs = new Map(base.xattrs);
    xattrs.set(OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
    const out: TarHeader = { ...base, name: dir, type: 'dir', size: 0, linkname: '', xattrs };
    this.dirHeaders.set(dir, out);
    this.seen.set(dir, 'dir');
    return out;
  }

  private whiteout(dir: string, name: string, h: TarHeader): TarHeader {
    if (name === '' || name === '.' || name === '..') {
      throw invalidArgument(`invalid layer: bad whiteout "${displayName(h.name)}"`);
    }
    const target = dir === '.' ? name : `${dir}/${name}`;
    if (this.seen.has(target)) {
      throw invalidArgument(
        `invalid layer: whiteout "${displayName(h.name)}" hides a path of the same layer`,
      );
    }
    this.seen.set(target, 'other');
    return {
      name: target,
      type: 'char',
      mode: 0,
      uid: h.uid,
      gid: h.gid,
      size: 0,
      mtime: h.mtime,
      linkname: '',
      devmajor: 0,
      devminor: 0,
      xattrs: new Map(),
    };
  }

  private filterXattrs(x: Map<string, Buffer>): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [k, v] of x) {
      // overlay's own attributes (opaque, redirect, metacopy, origin) would let a layer
      // rewire the merged view; only whiteout conversion may set them.
      if (k.startsWith('trusted.overlay.')) this.droppedXattrs++;
      else out.set(k, v);
    }
    return out;
  }
}
