import { describe, expect, it } from 'vitest';

import type { Digest } from '../oci/index.js';
import { LeaseTable } from './lease.js';

const A = `sha256:${'a'.repeat(64)}` as Digest;
const B = `sha256:${'b'.repeat(64)}` as Digest;

describe('LeaseTable', () => {
  it('holds until every lease on a digest is released', () => {
    const t = new LeaseTable();
    const l1 = t.take().hold(A);
    const l2 = t.take().hold(A, B);
    expect(t.held(A)).toBe(true);
    l2.release();
    expect(t.held(A)).toBe(true);
    expect(t.held(B)).toBe(false);
    l1.release();
    l1.release(); // twice is harmless
    expect(t.held(A)).toBe(false);
  });

  it('orders a holder’s check after a drop already running for the same digest', async () => {
    const t = new LeaseTable();
    let exists = true;
    const order: string[] = [];
    // A drop that has decided (nothing held) and is deleting when the lease is taken.
    let decided!: () => void;
    const deciding = new Promise<void>((r) => (decided = r));
    const drop = t.guarded(A, async () => {
      if (t.held(A)) return;
      decided();
      await new Promise((r) => setTimeout(r, 20));
      exists = false;
      order.push('dropped');
    });
    await deciding;
    const lease = t.take();
    const seen = await lease.has(A, async () => {
      order.push('checked');
      return exists;
    });
    await drop;
    expect(order).toEqual(['dropped', 'checked']);
    expect(seen).toBe(false); // the holder sees it gone and fetches it again
    // A drop starting now sees the lease and keeps it.
    exists = true;
    await t.guarded(A, async () => {
      if (!t.held(A)) exists = false;
    });
    expect(exists).toBe(true);
    lease.release();
  });
});
