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
import { parseManifest, type ParsedManifest } from './manifest.js';
import { RegistryStore } from './store.js';

export interface GcOptions {
  root: string;
  dryRun: boolean;
  /**
   * Also delete manifests no tag reaches (directly, as an index child, or as a referrer of a
   * reached manifest), as `registry garbage-collect --delete-untagged` does.
   */
  deleteUntagged?: boolean;
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
      const manifests = await loadManifests(store, repo, opts.logger);
      const keep = opts.deleteUntagged
        ? await reachableFromTags(store, repo, manifests)
        : new Set(manifests.keys());
      for (const digest of keep) {
        marked.add(digest);
        say(`${repo}: marking manifest ${digest}`);
        const refs = manifests.get(digest);
        if (!refs) continue; // unreadable: keep it, mark nothing more
        for (const d of [...refs.blobs, ...refs.manifests]) {
          marked.add(d.digest);
          say(`${repo}: marking blob ${d.digest}`);
        }
        if (refs.subject) marked.add(refs.subject.digest);
      }
      for (const digest of manifests.keys()) {
        if (keep.has(digest)) continue;
        say(`${repo}: deleting untagged manifest ${digest}`);
        if (!opts.dryRun) await store.deleteManifest(repo, digest);
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

/**
 * Every manifest revision of a repository whose blob is present, with what it references
 * (null when it cannot be read or parsed: such a manifest is kept but marks nothing).
 */
async function loadManifests(
  store: RegistryStore,
  repo: string,
  logger: Logger,
): Promise<Map<Digest, ParsedManifest | null>> {
  const out = new Map<Digest, ParsedManifest | null>();
  for (const digest of await store.listRevisions(repo)) {
    const info = await store.manifestInfo(repo, digest);
    if (!info) continue; // a revision link whose blob is gone: nothing to keep
    try {
      out.set(digest, parseManifest(await store.readBlob(digest), info.mediaType));
    } catch (err) {
      // Stored bytes were validated on push; keep the manifest rather than guess.
      logger.warn({ repo, digest, err }, 'registry gc: cannot read manifest');
      out.set(digest, null);
    }
  }
  return out;
}

/** Manifests reachable from the repository's tags through index children and referrers. */
async function reachableFromTags(
  store: RegistryStore,
  repo: string,
  manifests: Map<Digest, ParsedManifest | null>,
): Promise<Set<Digest>> {
  const referrersOf = new Map<Digest, Digest[]>();
  for (const { subject, referrer } of await store.listReferrerLinks(repo)) {
    referrersOf.set(subject, [...(referrersOf.get(subject) ?? []), referrer]);
  }
  const keep = new Set<Digest>();
  const queue: Digest[] = [];
  for (const tag of (await store.listTags(repo)) ?? []) {
    const d = await store.resolveTag(repo, tag);
    if (d) queue.push(d);
  }
  for (let d = queue.pop(); d !== undefined; d = queue.pop()) {
    if (keep.has(d) || !manifests.has(d)) continue;
    keep.add(d);
    for (const child of manifests.get(d)?.manifests ?? []) queue.push(child.digest);
    queue.push(...(referrersOf.get(d) ?? []));
  }
  return keep;
}
