/**
 * Garbage collection, mark and sweep, run while no server uses the root (lock.ts).
 *
 * Mark: every manifest revision of every repository, tagged or not, and everything it
 * references: config and layers, the child manifests of an index, its subject. Sweep: every
 * blob not marked is deleted, and so are repository links to swept blobs and referrer links
 * to manifests that are gone, so no repository claims a blob the store no longer has.
 * Upload sessions are not marked: they do not survive a restart anyway.
 */
import type { Logger } from '../../common/index.js';
import type { Digest } from '../../oci/index.js';
import { lockRoot } from './lock.js';
import { parseManifest } from './manifest.js';
import { RegistryStore } from './store.js';

export interface GcOptions {
  root: string;
  dryRun: boolean;
  logger: Logger;
  /** One line per action, for the CLI's output. */
  report?: (line: string) => void;
}

export interface GcResult {
  marked: number;
  deleted: Digest[];
  freedBytes: number;
}

export async function collectGarbage(opts: GcOptions): Promise<GcResult> {
  const lock = await lockRoot(opts.root, 'running gc');
  try {
    const store = await RegistryStore.open(opts.root);
    const say = opts.report ?? (() => undefined);
    const marked = new Set<Digest>();
    const repos = await store.listRepositories();
    for (const repo of repos) {
      say(`${repo}`);
      for (const digest of await store.listRevisions(repo)) {
        const info = await store.manifestInfo(repo, digest);
        if (!info) continue; // a revision link whose blob is gone: nothing to keep
        marked.add(digest);
        say(`${repo}: marking manifest ${digest}`);
        let bytes: Buffer;
        try {
          bytes = await store.readBlob(digest);
        } catch (err) {
          opts.logger.warn({ repo, digest, err }, 'registry gc: cannot read manifest');
          continue;
        }
        let refs;
        try {
          refs = parseManifest(bytes, info.mediaType);
        } catch (err) {
          // Stored bytes were validated on push; keep the manifest, mark nothing more.
          opts.logger.warn({ repo, digest, err }, 'registry gc: cannot parse manifest');
          continue;
        }
        for (const d of [...refs.blobs, ...refs.manifests]) {
          marked.add(d.digest);
          say(`${repo}: marking blob ${d.digest}`);
        }
        if (refs.subject) marked.add(refs.subject.digest);
      }
    }
    const deleted: Digest[] = [];
    let freedBytes = 0;
    for (const digest of await store.listBlobs()) {
      if (marked.has(digest)) continue;
      freedBytes += (await store.blobSize(digest)) ?? 0;
      deleted.push(digest);
      say(`blob eligible for deletion: ${digest}`);
      if (!opts.dryRun) await store.deleteBlob(digest);
    }
    if (!opts.dryRun) {
      const gone = new Set(deleted);
      for (const repo of repos) {
        for (const d of await store.listLayerLinks(repo)) {
          if (gone.has(d)) await store.unlinkBlob(repo, d);
        }
        for (const { subject, referrer } of await store.listReferrerLinks(repo)) {
          if (!(await store.manifestInfo(repo, referrer))) {
            await store.unlinkReferrer(repo, subject, referrer);
          }
        }
      }
    }
    return { marked: marked.size, deleted, freedBytes };
  } finally {
    lock.close();
  }
}
