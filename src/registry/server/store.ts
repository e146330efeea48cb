/**
 * The registry's storage, a plain directory tree under --root:
 *
 *   blobs/sha256/<hex>                                 every blob and manifest, by digest,
 *                                                      read-only once committed
 *   uploads/<id>                                       upload sessions in progress (dropped on
 *                                                      start: sessions live in memory)
 *   repositories/<name>/_layers/sha256/<hex>           link: the blob belongs to the repository
 *   repositories/<name>/_manifests/revisions/sha256/<hex>
 *                                                      link: the manifest is in the repository;
 *                                                      holds {"mediaType"} as pushed
 *   repositories/<name>/_manifests/tags/<tag>          the digest the tag points at
 *   repositories/<name>/_referrers/sha256/<subject-hex>/<hex>
 *                                                      a manifest whose subject is that digest;
 *                                                      holds its referrers-API descriptor
 *
 * Crash safety: a blob becomes visible only by rename after its digest was checked and the
 * file fsynced; links, tags and revisions are written temp → fsync → rename. Order matters:
 * blob, then revision link, then referrer link, then tag, so a crash at any point leaves
 * nothing that points at something missing (at worst an unreferenced blob, which GC reclaims).
 * Repository names are validated before they get here and cannot start with `_`, so a name
 * component never collides with our own directories.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';

import { isErrno, KeyedMutex, readJson, syncDir, writeFileAtomic } from '../../common/index.js';
import { digestHex, isDigest, sha256Digest, type Digest } from '../../oci/index.js';
import { regErr } from './errors.js';
import type { ParsedManifest, RefDescriptor } from './manifest.js';
import { isTag } from './names.js';
import { sortNames } from './paginate.js';
import { pathExists, readdirOrEmpty, subjectOf, unlinkIfExists } from './store-fs.js';

export interface ManifestInfo {
  digest: Digest;
  mediaType: string;
  size: number;
}

export interface ReferrerDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface RevisionRecord {
  mediaType: string;
}

export class RegistryStore {
  /** Manifest writes and deletes of one repository run one at a time. */
  private readonly repoLock = new KeyedMutex();

  private constructor(readonly root: string) {}

  static async open(root: string): Promise<RegistryStore> {
    const store = new RegistryStore(path.resolve(root));
    await fsp.mkdir(store.blobDir, { recursive: true, mode: 0o755 });
    await fsp.mkdir(path.join(store.root, 'repositories'), { recursive: true, mode: 0o755 });
    // Upload sessions are in memory: whatever a previous process left is garbage.
    await fsp.rm(store.uploadDir, { recursive: true, force: true });
    await fsp.mkdir(store.uploadDir, { recursive: true, mode: 0o700 });
    return store;
  }

  get blobDir(): string {
    return path.join(this.root, 'blobs', 'sha256');
  }

  get uploadDir(): string {
    return path.join(this.root, 'uploads');
  }

  blobPath(digest: Digest): string {
    return path.join(this.blobDir, digestHex(digest));
  }

  repoDir(repo: string): string {
    return path.join(this.root, 'repositories', ...repo.split('/'));
  }

  private layerLink(repo: string, digest: Digest): string {
    return path.join(this.repoDir(repo), '_layers', 'sha256', digestHex(digest));
  }

  private revisionLink(repo: string, digest: Digest): string {
    return path.join(this.repoDir(repo), '_manifests', 'revisions', 'sha256', digestHex(digest));
  }

  private tagFile(repo: string, tag: string): string {
    return path.join(this.repoDir(repo), '_manifests', 'tags', tag);
  }

  private referrerDir(repo: string, subject: Digest): string {
    return path.join(this.repoDir(repo), '_referrers', 'sha256', digestHex(subject));
  }

  // --- blobs ---

  /** Size of a committed blob, undefined when absent. */
  async blobSize(digest: Digest): Promise<number | undefined> {
    try {
      return (await fsp.stat(this.blobPath(digest))).size;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  /** Size of a blob the repository holds, undefined when it does not. */
  async repoBlobSize(repo: string, digest: Digest): Promise<number | undefined> {
    if (!(await pathExists(this.layerLink(repo, digest)))) return undefined;
    return this.blobSize(digest);
  }

  async linkBlob(repo: string, digest: Digest): Promise<void> {
    const link = this.layerLink(repo, digest);
    if (await pathExists(link)) return;
    await fsp.mkdir(path.dirname(link), { recursive: true });
    await writeFileAtomic(link, '', 0o644);
  }

  async unlinkBlob(repo: string, digest: Digest): Promise<boolean> {
    return unlinkIfExists(this.layerLink(repo, digest));
  }

  /**
   * Move a fully written, fsynced and verified file into the blob store. Two uploads of the
   * same content may race here: both files hold the same bytes, so whichever rename lands
   * last wins and no reader can tell (a reader holding the old inode keeps reading it).
   */
  async commitBlob(file: string, digest: Digest): Promise<void> {
    if ((await this.blobSize(digest)) !== undefined) {
      await fsp.rm(file, { force: true });
      return;
    }
    await fsp.chmod(file, 0o444);
    await fsp.rename(file, this.blobPath(digest));
    await syncDir(this.blobDir);
  }

  /** Write a small blob held in memory (a manifest). */
  async putSmallBlob(data: Buffer): Promise<Digest> {
    const digest = sha256Digest(data);
    if ((await this.blobSize(digest)) === data.length) return digest;
    const tmp = path.join(this.uploadDir, `m-${randomBytes(12).toString('hex')}`);
    const fh = await fsp.open(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      0o600,
    );
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commitBlob(tmp, digest);
    return digest;
  }

  async deleteBlob(digest: Digest): Promise<boolean> {
    return unlinkIfExists(this.blobPath(digest));
  }

  async listBlobs(): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const name of await fsp.readdir(this.blobDir)) {
      const d = `sha256:${name}`;
      if (isDigest(d)) out.push(d);
    }
    return out;
  }

  // --- manifests ---

  async manifestInfo(repo: string, digest: Digest): Promise<ManifestInfo | undefined> {
    const rec = await readJson<RevisionRecord>(this.revisionLink(repo, digest));
    if (!rec) return undefined;
    const size = await this.blobSize(digest);
    if (size === undefined) return undefined;
    return { digest, mediaType: rec.mediaType, size };
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    return fsp.readFile(this.blobPath(digest));
  }

  async resolveTag(repo: string, tag: string): Promise<Digest | undefined> {
    try {
      const d = (await fsp.readFile(this.tagFile(repo, tag), 'utf8')).trim();
      return isDigest(d) ? d : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  /**
   * Store a manifest after checking that everything it references is in the repository.
   * Returns its digest.
   */
  async putManifest(
    repo: string,
    bytes: Buffer,
    parsed: ParsedManifest,
    tag: string | undefined,
  ): Promise<Digest> {
    return this.repoLock.run(repo, async () => {
      await this.checkReferences(repo, parsed);
      const digest = await this.putSmallBlob(bytes);
      const rev = this.revisionLink(repo, digest);
      await fsp.mkdir(path.dirname(rev), { recursive: true });
      await writeFileAtomic(rev, JSON.stringify({ mediaType: parsed.mediaType }), 0o644);
      if (parsed.subject) {
        const dir = this.referrerDir(repo, parsed.subject.digest);
        await fsp.mkdir(dir, { recursive: true });
        const desc: ReferrerDescriptor = {
          mediaType: parsed.mediaType,
          digest,
          size: bytes.length,
        };
        if (parsed.artifactType !== undefined) desc.artifactType = parsed.artifactType;
        if (parsed.annotations) desc.annotations = parsed.annotations;
        await writeFileAtomic(path.join(dir, digestHex(digest)), JSON.stringify(desc), 0o644);
      }
      if (tag !== undefined) {
        const file = this.tagFile(repo, tag);
        await fsp.mkdir(path.dirname(file), { recursive: true });
        await writeFileAtomic(file, digest, 0o644);
      }
      return digest;
    });
  }

  private async checkReferences(repo: string, parsed: ParsedManifest): Promise<void> {
    const missing = async (d: RefDescriptor, kind: 'blob' | 'manifest'): Promise<void> => {
      const size =
        kind === 'blob'
          ? await this.repoBlobSize(repo, d.digest)
          : (await this.manifestInfo(repo, d.digest))?.size;
      if (size === undefined) {
        throw regErr('MANIFEST_BLOB_UNKNOWN', `${kind} unknown to registry: ${d.digest}`, {
          digest: d.digest,
        });
      }
      if (size !== d.size) {
        throw regErr(
          'MANIFEST_INVALID',
          `descriptor size ${d.size} does not match ${kind} size ${size}`,
          {
            digest: d.digest,
          },
        );
      }
    };
    for (const b of parsed.blobs) await missing(b, 'blob');
    for (const m of parsed.manifests) await missing(m, 'manifest');
  }

  /** Remove a manifest from a repository, with the tags that point at it. */
  async deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    return this.repoLock.run(repo, async () => {
      const info = await this.manifestInfo(repo, digest);
      if (!info) return false;
      for (const tag of (await this.listTags(repo)) ?? []) {
        if ((await this.resolveTag(repo, tag)) === digest) {
          await unlinkIfExists(this.tagFile(repo, tag));
        }
      }
      // Drop it from its subject's referrers, if it had one.
      try {
        const subject = subjectOf(await this.readBlob(digest));
        if (subject)
          await unlinkIfExists(path.join(this.referrerDir(repo, subject), digestHex(digest)));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      await unlinkIfExists(this.revisionLink(repo, digest));
      return true;
    });
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.repoLock.run(repo, () => unlinkIfExists(this.tagFile(repo, tag)));
  }

  async repoExists(repo: string): Promise<boolean> {
    const dir = this.repoDir(repo);
    return (
      (await pathExists(path.join(dir, '_manifests'))) ||
      (await pathExists(path.join(dir, '_layers')))
    );
  }

  /** Sorted tags, undefined when the repository is unknown. */
  async listTags(repo: string): Promise<string[] | undefined> {
    try {
      // isTag also skips writeFileAtomic's `.name.tmp` files.
      const names = await fsp.readdir(path.join(this.repoDir(repo), '_manifests', 'tags'));
      return sortNames(names.filter(isTag));
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    return (await this.repoExists(repo)) ? [] : undefined;
  }

  async listRevisions(repo: string): Promise<Digest[]> {
    const dir = path.join(this.repoDir(repo), '_manifests', 'revisions', 'sha256');
    return (await readdirOrEmpty(dir)).map((h) => `sha256:${h}`).filter(isDigest);
  }

  async listLayerLinks(repo: string): Promise<Digest[]> {
    const dir = path.join(this.repoDir(repo), '_layers', 'sha256');
    return (await readdirOrEmpty(dir)).map((h) => `sha256:${h}`).filter(isDigest);
  }

  /** Every repository, sorted: directories holding `_manifests` or `_layers`. */
  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
        if (isErrno(err, 'ENOENT')) return [];
        throw err;
      });
      let isRepo = false;
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === '_manifests' || e.name === '_layers') isRepo = true;
        else if (!e.name.startsWith('_')) {
          await walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
        }
      }
      if (isRepo && prefix) out.push(prefix);
    };
    await walk(path.join(this.root, 'repositories'), '');
    return sortNames(out);
  }

  async listReferrers(repo: string, subject: Digest): Promise<ReferrerDescriptor[]> {
    const dir = this.referrerDir(repo, subject);
    const out: ReferrerDescriptor[] = [];
    for (const name of await readdirOrEmpty(dir)) {
      if (!isDigest(`sha256:${name}`)) continue;
      const desc = await readJson<ReferrerDescriptor>(path.join(dir, name));
      if (!desc || !(await this.manifestInfo(repo, desc.digest))) continue;
      out.push(desc);
    }
    return out.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  /** Remove a referrer link (GC, when the referrer itself is gone). */
  async unlinkReferrer(repo: string, subject: Digest, referrer: Digest): Promise<void> {
    await unlinkIfExists(path.join(this.referrerDir(repo, subject), digestHex(referrer)));
  }

  async listReferrerLinks(repo: string): Promise<Array<{ subject: Digest; referrer: Digest }>> {
    const base = path.join(this.repoDir(repo), '_referrers', 'sha256');
    const out: Array<{ subject: Digest; referrer: Digest }> = [];
    for (const s of await readdirOrEmpty(base)) {
      for (const r of await readdirOrEmpty(path.join(base, s))) {
        const subject = `sha256:${s}`;
        const referrer = `sha256:${r}`;
        if (isDigest(subject) && isDigest(referrer)) out.push({ subject, referrer });
      }
    }
    return out;
  }
}
