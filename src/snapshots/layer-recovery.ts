/**
 * What the snapshotter does at open with the layers it finds on disk (pure: unit-tested).
 *
 * A layer is renamed into place before its data is known to be on disk (the flush runs in
 * the background, see common/deferred-flush.ts). Its record names the boot it was written in
 * and a `flushed` marker appears beside it once a syncfs covered it. At open:
 *   - flushed, or written by a version that synced before the rename (no boot): keep;
 *   - unflushed, written in this boot (the daemon was killed, the machine stayed up): the
 *     data is in the page cache and whole: keep, and flush it again;
 *   - unflushed, written in another boot (the machine went down before the flush): it may be
 *     torn: discard it;
 *   - unreadable record (torn itself), or a parent that is discarded or missing: discard.
 */
export interface FoundLayer {
  /** The layer directory's name (the chain ID's hex). */
  hex: string;
  /** The parsed record, undefined when missing or unreadable. */
  record?: { chainID: string; parent?: string; boot?: string; link: string };
  /** Whether the flushed marker exists. */
  flushed: boolean;
}

export interface LayerRecoveryPlan {
  keep: string[];
  /** Kept layers of this boot still to be flushed (with their link: the unpack's identity). */
  reflush: Array<{ hex: string; link: string }>;
  /** With the reason, for the log. */
  discard: Array<{ hex: string; reason: string }>;
}

export function planLayerRecovery(found: FoundLayer[], bootId: string): LayerRecoveryPlan {
  const byHex = new Map(found.map((f) => [f.hex, f]));
  const verdict = new Map<string, { keep: boolean; reason: string }>();
  const judge = (hex: string, depth = 0): { keep: boolean; reason: string } => {
    const seen = verdict.get(hex);
    if (seen) return seen;
    const f = byHex.get(hex);
    let v: { keep: boolean; reason: string };
    if (!f) v = { keep: false, reason: 'missing' };
    else if (!f.record || f.record.chainID !== `sha256:${hex}`)
      v = { keep: false, reason: 'unreadable layer record' };
    else if (!f.flushed && f.record.boot !== undefined && f.record.boot !== bootId)
      v = { keep: false, reason: 'not flushed before the machine went down' };
    else if (f.record.parent === undefined) v = { keep: true, reason: '' };
    else if (depth > 1000) v = { keep: false, reason: 'layer chain loops' };
    else {
      const p = judge(f.record.parent.replace(/^sha256:/, ''), depth + 1);
      v = p.keep ? { keep: true, reason: '' } : { keep: false, reason: `parent layer ${p.reason}` };
    }
    verdict.set(hex, v);
    return v;
  };
  const plan: LayerRecoveryPlan = { keep: [], reflush: [], discard: [] };
  for (const f of found) {
    const v = judge(f.hex);
    if (!v.keep) plan.discard.push({ hex: f.hex, reason: v.reason });
    else {
      plan.keep.push(f.hex);
      if (!f.flushed && f.record?.boot !== undefined) {
        plan.reflush.push({ hex: f.hex, link: f.record.link });
      }
    }
  }
  return plan;
}
