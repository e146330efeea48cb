/**
 * ADD of a URL: the file is downloaded by the daemon (never unpacked, as Docker), named after
 * the URL's last path element, mode 0600, its mtime from Last-Modified; `--checksum` is
 * verified before anything is copied.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { invalidArgument } from '../common/index.js';

export interface Downloaded {
  /** Host path of the downloaded file. */
  file: string;
  /** sha256 of its content. */
  digest: string;
}

/** The file name Docker gives a URL's content. */
export function urlFileName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  if (name === '' || name === '.' || name === '/')
    throw invalidArgument(`cannot determine filename from url: ${url}`);
  return decodeURIComponent(name);
}

export async function downloadUrl(
  url: string,
  dir: string,
  checksum: string | undefined,
  signal: AbortSignal,
): Promise<Downloaded> {
  if (checksum !== undefined && !/^sha256:[0-9a-f]{64}$/.test(checksum))
    throw invalidArgument(`invalid checksum digest format: ${checksum}`);
  const name = urlFileName(url);
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw invalidArgument(`failed to GET ${url}: ${(err as Error).message}`, err);
  }
  if (!res.ok || !res.body)
    throw invalidArgument(`failed to GET ${url} with status ${res.status} ${res.statusText}`);
  const sub = path.join(dir, `url-${randomBytes(8).toString('hex')}`);
  await fsp.mkdir(sub, { recursive: true, mode: 0o700 });
  const file = path.join(sub, name);
  const h = createHash('sha256');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  body.on('data', (c: Buffer) => h.update(c));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  const digest = `sha256:${h.digest('hex')}`;
  if (checksum !== undefined && checksum !== digest)
    throw invalidArgument(`digest mismatch ${digest}: ${checksum}`);
  await fsp.chmod(file, 0o600);
  const modified = Date.parse(res.headers.get('last-modified') ?? '');
  if (!Number.isNaN(modified)) await fsp.utimes(file, new Date(), new Date(modified));
  return { file, digest };
}
