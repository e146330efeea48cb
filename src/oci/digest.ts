import { createHash } from 'node:crypto';

/** A content digest, `<algorithm>:<hex>`; Wharf stores and computes only sha256. */
export type Digest = `sha256:${string}`;

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return SHA256_RE.test(s);
}

export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest (what Docker calls the image ID without its prefix). */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/**
 * The chain ID of a layer stack: for layers with diffIDs d1..dn,
 * chain(1) = d1 and chain(n) = sha256(chain(n-1) + " " + dn) (OCI image-spec, config.md).
 */
export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffID of diffIDs) {
    const parent = out.at(-1);
    out.push(parent === undefined ? diffID : sha256Digest(`${parent} ${diffID}`));
  }
  return out;
}

/** The chain ID of the whole stack, undefined for an image without layers. */
export function chainID(diffIDs: readonly Digest[]): Digest | undefined {
  return chainIDs(diffIDs).at(-1);
}
