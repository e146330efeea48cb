/**
 * Which blobs the content store must not trust at open (pure: unit-tested).
 *
 * Blobs are renamed into place before their data is known to be on disk; a background
 * syncfs flushes them (common/deferred-flush.ts). To know, after a machine crash, which blobs
 * that flush may not have reached, the store keeps one marker per boot, `unflushed-<boot>.json`
 * = { boot, since }: written durably ONCE, before the first unflushed blob of an epoch is
 * renamed into place, and unlinked once a flush covered every blob written since. So a
 * marker left by another boot means "the machine went down with blobs unflushed", and those
 * blobs were all created after `since`: their inodes' ctime is not older (up to clock
 * granularity and small clock steps, hence a margin). Those are re-hashed; the rest, flushed
 * before the epoch began, are not.
 *
 * Why not a per-blob record: each would need its own fsync (or a filesystem ordering
 * guarantee POSIX does not give) to be sure to exist after a crash whenever the blob does,
 * and saving those fsyncs is the point. One durable write per epoch (a pull, a load, a
 * build) is paid off the request's path, while the download runs.
 */
export interface UnflushedMarker {
  schemaVersion: 1;
  boot: string;
  /** Epoch ms before the first blob of the epoch was created. */
  since: number;
}

/** Covers clock granularity (coarse ctime) and small clock steps during an epoch. */
export const CTIME_MARGIN_MS = 10 * 60 * 1000;

export interface BlobRecoveryPlan {
  /** Blob names (hex) to re-hash. */
  verify: string[];
  /** This boot's marker (the daemon was killed, the machine stayed up): flush again. */
  adopt?: UnflushedMarker;
  /** Markers of other boots, removed once their blobs are verified. */
  stale: string[];
}

export function planBlobRecovery(
  markers: Array<{ file: string; marker: UnflushedMarker | undefined }>,
  bootId: string,
  blobs: Array<{ name: string; ctimeMs: number }>,
): BlobRecoveryPlan {
  const plan: BlobRecoveryPlan = { verify: [], stale: [] };
  let since = Infinity;
  for (const { file, marker } of markers) {
    if (marker !== undefined && marker.boot === bootId) {
      if (plan.adopt === undefined || marker.since < plan.adopt.since) plan.adopt = marker;
      continue;
    }
    plan.stale.push(file);
    // An unreadable marker (it is written durably, so only damage makes one): trust nothing.
    const s = marker !== undefined && Number.isFinite(marker.since) ? marker.since : 0;
    since = Math.min(since, s - CTIME_MARGIN_MS);
  }
  if (since !== Infinity) {
    plan.verify = blobs.filter((b) => b.ctimeMs >= since).map((b) => b.name);
  }
  return plan;
}

/** The file name of a boot's marker. */
export function markerFile(boot: string): string {
  return `unflushed-${boot}.json`;
}

export function isMarkerFile(name: string): boolean {
  return /^unflushed-[A-Za-z0-9-]+\.json$/.test(name);
}
