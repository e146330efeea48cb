import { invalidArgument } from '../common/index.js';
import {
  BLOCK,
  decodeHeader,
  decodePax,
  displayName,
  entryType,
  isZeroBlock,
  type RawHeader,
  type TarHeader,
} from './tar-format.js';

export interface TarEntry {
  header: TarHeader;
  /** The entry's data; must be consumed (or left: the reader skips what is left). */
  body: AsyncIterable<Buffer>;
}

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }

  /** Exactly n bytes, or undefined at a clean EOF (nothing buffered). */
  async exact(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n) {
      if (!(await this.fill())) {
        if (this.buf.length === 0) return undefined;
        throw invalidArgument('unexpected EOF in tar archive');
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Between 1 and n bytes; throws at EOF. */
  async upTo(n: number): Promise<Buffer> {
    if (this.buf.length === 0 && !(await this.fill()))
      throw invalidArgument('unexpected EOF in tar archive');
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.upTo(n)).length;
  }

  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (await this.fill()) this.buf = Buffer.alloc(0);
  }
}

const MAX_META = 1 << 20; // pax/GNU long-name records larger than this are hostile

/**
 * Read a tar stream entry by entry, applying pax (local and global) and GNU long name/link
 * records. After the end-of-archive marker the rest of the input is read and discarded, so a
 * hash computed upstream covers every byte.
 */
export async function* readTar(src: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(src[Symbol.asyncIterator]());
  let global = new Map<string, Buffer>();
  let local = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await r.exact(BLOCK);
    if (block === undefined) throw invalidArgument('unexpected EOF in tar archive: no end marker');
    if (isZeroBlock(block)) {
      await r.drain();
      return;
    }
    const raw = decodeHeader(block);
    const dataLen = raw.size + ((BLOCK - (raw.size % BLOCK)) % BLOCK);
    if ('xgLK'.includes(raw.typeflag)) {
      if (raw.size > MAX_META)
        throw invalidArgument('invalid tar archive: oversized extended header');
      const data = (await r.exact(dataLen)) ?? Buffer.alloc(0);
      if (data.length < dataLen) throw invalidArgument('unexpected EOF in tar archive');
      const content = data.subarray(0, raw.size);
      if (raw.typeflag === 'x') local = new Map([...local, ...decodePax(content)]);
      else if (raw.typeflag === 'g') global = new Map([...global, ...decodePax(content)]);
      else if (raw.typeflag === 'L') longName = cstr(content);
      else longLink = cstr(content);
      continue;
    }
    if (raw.typeflag === 'V') {
      await r.skip(dataLen); // GNU volume label: not a file
      continue;
    }
    const pax = new Map([...global, ...local]);
    const header = makeHeader(raw, pax, longName, longLink);
    local = new Map();
    longName = longLink = undefined;
    // As Go's archive/tar (which wrote most layers): only regular files carry data.
    const size = header.type === 'file' ? header.size : 0;
    let left = size;
    const body = (async function* () {
      while (left > 0) {
        const chunk = await r.upTo(left);
        left -= chunk.length;
        yield chunk;
      }
    })();
    yield { header, body };
    await r.skip(left); // whatever the consumer left unread
    await r.skip((BLOCK - (size % BLOCK)) % BLOCK);
  }
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul === -1 ? b.length : nul).toString('latin1');
}

function paxInt(pax: Map<string, Buffer>, key: string, fallback: number): number {
  const v = pax.get(key);
  if (v === undefined) return fallback;
  const s = v.toString('latin1');
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw invalidArgument(`invalid tar header: bad pax ${key} "${s}"`);
  }
  return Number(s);
}

function makeHeader(
  raw: RawHeader,
  pax: Map<string, Buffer>,
  longName: string | undefined,
  longLink: string | undefined,
): TarHeader {
  const name = pax.get('path')?.toString('latin1') ?? longName ?? raw.name;
  const type = entryType(raw.typeflag);
  if ([...pax.keys()].some((k) => k.startsWith('GNU.sparse.')) || raw.typeflag === 'S') {
    throw invalidArgument(`sparse files are not supported in layers: ${displayName(name)}`);
  }
  if (type === undefined) {
    throw invalidArgument(`unsupported tar entry type '${raw.typeflag}' for ${displayName(name)}`);
  }
  const xattrs = new Map<string, Buffer>();
  for (const [k, v] of pax) {
    if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    else if (k.startsWith('LIBARCHIVE.xattr.')) {
      xattrs.set(
        decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length)),
        Buffer.from(v.toString('latin1'), 'base64'),
      );
    }
  }
  const mtime = pax.get('mtime')?.toString('latin1') ?? String(raw.mtime);
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(mtime))
    throw invalidArgument(`invalid tar header: bad mtime "${mtime}"`);
  return {
    name,
    type,
    mode: raw.mode,
    uid: paxInt(pax, 'uid', raw.uid),
    gid: paxInt(pax, 'gid', raw.gid),
    size: paxInt(pax, 'size', raw.size),
    mtime,
    linkname: pax.get('linkpath')?.toString('latin1') ?? longLink ?? raw.linkname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs,
  };
}
