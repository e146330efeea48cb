/**
 * The tar wire format (POSIX ustar + pax, reading GNU long names too), byte-exact: names and
 * link targets are carried as latin1 strings so arbitrary bytes round-trip unchanged (tar
 * names are bytes, not text). xattr values are Buffers (security.capability is binary).
 */
import { invalidArgument } from '../common/index.js';

export const BLOCK = 512;

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** latin1-encoded bytes of the path as found in the archive. */
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, as a decimal string (pax allows fractions). */
  mtime: string;
  /** latin1-encoded link target (symlink content, or the hard link's target path). */
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

/** What a raw header block says, before pax/GNU extension records are applied. */
export interface RawHeader {
  typeflag: string;
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

const TYPEFLAGS: Record<EntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export function entryType(typeflag: string): EntryType | undefined {
  return TYPES[typeflag];
}

export function displayName(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

function cstring(buf: Buffer, start: number, len: number): string {
  const field = buf.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? len : nul).toString('latin1');
}

function numeric(buf: Buffer, start: number, len: number): number {
  const field = buf.subarray(start, start + len);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian two's complement; we accept only non-negative values.
    if (field[0] === 0xff) throw invalidArgument('invalid tar header: negative numeric field');
    let v = field[0]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + field[i]!;
    if (!Number.isSafeInteger(v))
      throw invalidArgument('invalid tar header: numeric field too large');
    return v;
  }
  const s = cstring(buf, start, len)
    .replace(/[ \0]+$/, '')
    .trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw invalidArgument(`invalid tar header: bad octal field "${s}"`);
  return parseInt(s, 8);
}

export function isZeroBlock(buf: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Decode one 512-byte header block; throws invalidArgument on a bad checksum. */
export function decodeHeader(buf: Buffer): RawHeader {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : buf[i]!;
  if (numeric(buf, 148, 8) !== sum) throw invalidArgument('invalid tar header: checksum mismatch');
  let name = cstring(buf, 0, 100);
  // Only POSIX ustar has the prefix field; in GNU's "ustar  " those bytes are atime/ctime.
  if (buf.subarray(257, 263).toString('latin1') === 'ustar\0') {
    const prefix = cstring(buf, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return {
    typeflag: String.fromCharCode(buf[156]!),
    name,
    linkname: cstring(buf, 157, 100),
    mode: numeric(buf, 100, 8),
    uid: numeric(buf, 108, 8),
    gid: numeric(buf, 116, 8),
    size: numeric(buf, 124, 12),
    mtime: numeric(buf, 136, 12),
    devmajor: numeric(buf, 329, 8),
    devminor: numeric(buf, 337, 8),
  };
}

/** Parse pax extended header records; values stay raw bytes. */
export function decodePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) break; // NUL padding after the last record
    const sp = data.indexOf(0x20, off);
    const len = sp === -1 ? NaN : Number(data.subarray(off, sp).toString('latin1'));
    if (
      !Number.isInteger(len) ||
      len <= 0 ||
      off + len > data.length ||
      data[off + len - 1] !== 0x0a
    ) {
      throw invalidArgument('invalid tar header: malformed pax record');
    }
    const rec = data.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw invalidArgument('invalid tar header: malformed pax record');
    out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function writeString(buf: Buffer, s: string, start: number, len: number): void {
  buf.write(s.slice(0, len), start, len, 'latin1');
}

function writeOctal(buf: Buffer, v: number, start: number, len: number): void {
  const max = 8 ** (len - 1) - 1;
  const s = (v > max || v < 0 ? 0 : v).toString(8).padStart(len - 1, '0');
  buf.write(`${s}\0`, start, len, 'latin1');
}

function rawBlock(h: Omit<RawHeader, 'mtime'> & { mtime: number }): Buffer {
  const buf = Buffer.alloc(BLOCK);
  writeString(buf, h.name, 0, 100);
  writeOctal(buf, h.mode & 0o7777, 100, 8);
  writeOctal(buf, h.uid, 108, 8);
  writeOctal(buf, h.gid, 116, 8);
  writeOctal(buf, h.size, 124, 12);
  writeOctal(buf, h.mtime, 136, 12);
  buf.write(h.typeflag, 156, 1, 'latin1');
  writeString(buf, h.linkname, 157, 100);
  buf.write('ustar\x0000', 257, 8, 'latin1');
  writeOctal(buf, h.devmajor, 329, 8);
  writeOctal(buf, h.devminor, 337, 8);
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[i]!;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return buf;
}

/** Fits a ustar field as is: printable ASCII (no NUL, no high bytes) within `len` bytes. */
const plainField = (v: string, len: number): boolean => v.length <= len && /^[\x20-\x7e]*$/.test(v);

/**
 * Encode an entry header as a ustar block, preceded by a pax record set only when a field
 * does not fit ustar exactly (a long or non-ASCII path or link target, large ids or size, a
 * fractional or out-of-range mtime, xattrs). Most entries of a layer need none: one block
 * instead of three, which halves what a layer of small files streams into GNU tar.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const mtime = Math.floor(Number(h.mtime));
  const main = rawBlock({
    ...h,
    typeflag: TYPEFLAGS[h.type],
    mtime: Number.isFinite(mtime) ? mtime : 0,
  });
  const fits =
    h.xattrs.size === 0 &&
    plainField(h.name, 100) &&
    plainField(h.linkname, 100) &&
    h.uid <= 0o7777777 &&
    h.gid <= 0o7777777 &&
    h.size <= 0o77777777777 &&
    /^\d{1,11}$/.test(h.mtime) &&
    Number(h.mtime) <= 0o77777777777;
  if (fits) return main;
  const records: Buffer[] = [
    paxRecord('path', Buffer.from(h.name, 'latin1')),
    paxRecord('mtime', Buffer.from(h.mtime)),
    paxRecord('uid', Buffer.from(String(h.uid))),
    paxRecord('gid', Buffer.from(String(h.gid))),
    paxRecord('size', Buffer.from(String(h.size))),
  ];
  if (h.linkname !== '') records.push(paxRecord('linkpath', Buffer.from(h.linkname, 'latin1')));
  for (const [k, v] of h.xattrs) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const pax = Buffer.concat(records);
  const paxHeader = rawBlock({
    typeflag: 'x',
    name: 'PaxHeader',
    linkname: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: pax.length,
    mtime: 0,
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
