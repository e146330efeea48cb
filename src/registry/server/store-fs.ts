/** Small filesystem helpers of the registry store: absent paths are answers, not errors. */
import { promises as fsp } from 'node:fs';

import { isErrno } from '../../common/index.js';
import { isDigest, type Digest } from '../../oci/index.js';

/** The subject digest of a stored manifest, if it has one. */
export function subjectOf(bytes: Buffer): Digest | undefined {
  try {
    const d = (JSON.parse(bytes.toString('utf8')) as { subject?: { digest?: unknown } }).subject
      ?.digest;
    return typeof d === 'string' && isDigest(d) ? d : undefined;
  } catch {
    return undefined;
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

export async function unlinkIfExists(p: string): Promise<boolean> {
  try {
    await fsp.unlink(p);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
    throw err;
  }
}
