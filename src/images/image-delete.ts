/** `docker rmi`: untag versus delete, and the conflicts, as moby's daemon/images/image_delete.go. */
import { conflict } from '../common/index.js';
import { chainIDs, digestHex, type Digest } from '../oci/index.js';
import type { ImageStore } from './image-store.js';
import type { ImageRecord } from './records.js';
import {
  familiarString,
  fullName,
  parseAnyReference,
  referenceString,
  tagNameOnly,
  type Reference,
} from './reference.js';

/**
 * Who uses an image: a container ID, or the ID with its state. A bare string counts as a
 * stopped container (a soft conflict: `force` overrides it); give `{ running: true }` for the
 * hard conflict Docker raises for running containers. Layers stay safe either way: the
 * snapshotter refuses to drop a layer under a container's snapshot.
 */
export type ImageUser = string | { id: string; running: boolean };

export interface RemoveOptions {
  force?: boolean;
  /** Docker's noprune: keep untagged parents. Imported images have no parents yet. */
  noprune?: boolean;
  usedBy: (imageId: string) => ImageUser | undefined;
}

export type DeleteResponseItem = { Untagged: string } | { Deleted: string };

const short = (id: string): string => digestHex(id as Digest).slice(0, 12);

function user(u: ImageUser | undefined): { id: string; running: boolean } | undefined {
  if (u === undefined) return undefined;
  return typeof u === 'string' ? { id: u, running: false } : u;
}

function isIDPrefix(id: Digest, s: string): boolean {
  return id.startsWith(s) || digestHex(id).startsWith(s);
}

/** Only one tag, all refs in one repository (moby's isSingleReference). */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const tags = refs.filter((r) => r.digest === undefined);
  if (tags.length > 1) return false;
  const names = new Set(refs.filter((r) => r.digest !== undefined).map(fullName));
  const single = tags[0] ?? refs[0]!;
  return names.size === 1 && names.has(fullName(single));
}

type Mask = { hard: boolean; activeReference: boolean; stopped: boolean };

function checkConflict(store: ImageStore, img: ImageRecord, mask: Mask, opts: RemoveOptions) {
  const u = user(opts.usedBy(img.id));
  const fail = (hard: boolean, message: string, used: boolean) => ({
    used,
    error: conflict(
      `conflict: unable to delete ${short(img.id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`,
      'ERR_IMAGE_IN_USE',
    ),
  });
  if (mask.hard && u?.running)
    return fail(true, `image is being used by running container ${u.id.slice(0, 12)}`, true);
  if (mask.activeReference && store.refsOf(img.id).length > 0) {
    return fail(false, 'image is referenced in multiple repositories', false);
  }
  if (mask.stopped && u && !u.running) {
    return fail(false, `image is being used by stopped container ${u.id.slice(0, 12)}`, true);
  }
  return undefined;
}

async function untag(
  store: ImageStore,
  ref: Reference,
  records: DeleteResponseItem[],
): Promise<void> {
  store.refs.delete(referenceString(ref));
  await store.saveRefs();
  records.push({ Untagged: familiarString(ref) });
}

export async function deleteImage(
  store: ImageStore,
  nameOrId: string,
  opts: RemoveOptions,
): Promise<DeleteResponseItem[]> {
  const img = store.resolveSync(nameOrId);
  const force = opts.force ?? false;
  const records: DeleteResponseItem[] = [];
  let quiet = false;
  let refs = store.refsOf(img.id);
  if (!isIDPrefix(img.id, nameOrId)) {
    // A reference was named: remove that reference first.
    const parsed = parseAnyReference(nameOrId);
    const ref = parsed.kind === 'named' ? tagNameOnly(parsed.ref) : undefined;
    if (!force && isSingleReference(refs)) {
      const u = user(opts.usedBy(img.id));
      if (u) {
        throw conflict(
          `conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${u.id.slice(0, 12)} is using its referenced image ${short(img.id)}`,
          'ERR_IMAGE_IN_USE',
        );
      }
    }
    if (ref) await untag(store, ref, records);
    refs = store.refsOf(img.id);
    // The last tag of a repository gone: its digest references (RepoDigests) go too.
    if (
      ref &&
      ref.digest === undefined &&
      !refs.some((r) => r.digest === undefined && fullName(r) === fullName(ref))
    ) {
      for (const r of refs.filter((x) => x.digest !== undefined && fullName(x) === fullName(ref))) {
        await untag(store, r, records);
      }
      refs = store.refsOf(img.id);
    }
    if (refs.length > 0) return records;
    quiet = true;
  } else if (isSingleReference(refs)) {
    // An ID with one tag: drop the tag along with the image.
    const c = checkConflict(
      store,
      img,
      { hard: true, activeReference: false, stopped: !force },
      opts,
    );
    if (c) throw c.error;
    for (const r of refs) await untag(store, r, records);
  }
  const c = checkConflict(
    store,
    img,
    { hard: true, activeReference: !force, stopped: !force },
    opts,
  );
  if (c) {
    // After an untag, conflicts stay silent unless the image is left dangling and unused.
    if (quiet && (store.refsOf(img.id).length > 0 || c.used)) return records;
    throw c.error;
  }
  for (const r of store.refsOf(img.id)) await untag(store, r, records);
  await store.deleteRecord(img.id);
  records.push({ Deleted: img.id });
  // What only this image used: blobs, then layers from the top down.
  for (const d of [
    img.id,
    ...(img.manifest ? [img.manifest.digest] : []),
    ...store.layerBlobs(img),
  ]) {
    await store.dropUnusedBlob(d);
  }
  const top = chainIDs(img.config.rootfs.diff_ids).at(-1);
  if (top !== undefined)
    for (const l of await store.dropUnusedLayer(top)) records.push({ Deleted: l });
  return records;
}
