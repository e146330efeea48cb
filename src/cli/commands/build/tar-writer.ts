/**
 * A minimal tar writer for build contexts (ustar headers, pax records for long names and
 * large sizes). The CLI bundle cannot use tar-stream (its streamx dependency `require`s node
 * built-ins, which esbuild's ESM output cannot), and must not import the engine's archive/.
 */
const BLOCK = 512;

export type TarType = 'file' | 'link' | 'symlink' | 'dir';

export interface TarEntryHeader {
  name: string;
  type: TarType;
  mode: number;
  size: number;
  mtime: Date;
  linkname?: string;
}

const FLAGS: Record<TarType, string> = { file: '0', link: '1', symlink: '2', dir: '5' };

function octal(buf: Buffer, off: number, len: number, n: number): void {
  buf.write(n.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function rawHeader(
  name: string,
  flag: string,
  mode: number,
  size: number,
  mtime: number,
  linkname: string,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.fill(' ', 148, 156);
  h.write(flag, 156, 1, 'latin1');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header block(s) of one entry (a pax header first when a field does not fit ustar). */
export function entryHeader(e: TarEntryHeader): Buffer {
  const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const linkname = e.linkname ?? '';
  const mtime = Math.floor(e.mtime.getTime() / 1000);
  let pax = '';
  if (Buffer.byteLength(name) > 100) pax += paxRecord('path', name);
  if (Buffer.byteLength(linkname) > 100) pax += paxRecord('linkpath', linkname);
  if (e.size > 0o77777777777) pax += paxRecord('size', String(e.size));
  const main = rawHeader(
    name.slice(0, 100),
    FLAGS[e.type],
    e.mode & 0o7777,
    e.size > 0o77777777777 ? 0 : e.size,
    mtime,
    linkname.slice(0, 100),
  );
  if (pax === '') return main;
  const body = Buffer.from(pax, 'utf8');
  return Buffer.concat([
    rawHeader('PaxHeader', 'x', 0o644, body.length, mtime, ''),
    body,
    padding(body.length),
    main,
  ]);
}

export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);
