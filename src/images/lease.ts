import { KeyedMutex } from '../common/index.js';
import type { Digest } from '../oci/index.js';

/**
 * Leases keep what an operation in flight is about to reference — a pull's, load's, commit's
 * or build's layers and blobs — from being dropped before its image record exists. Without
 * them an `rmi` or a prune running beside a pull could delete a base layer the pull had found
 * present and skipped, leaving the pulled image without its bottom layer (containerd solves
 * the same race with leases; the name is theirs).
 *
 * Exactness comes from one keyed lock per chain ID or blob digest: every drop checks
 * "referenced or leased?" and deletes inside it, and every lease-holder's existence check
 * (`has`) runs inside it after the lease is taken. So either the drop finished first and the
 * holder sees the thing missing (and fetches it), or the holder's lease is visible to the
 * drop, which then keeps it.
 */
export class LeaseTable {
  private readonly leases = new Set<Lease>();
  private readonly locks = new KeyedMutex();

  /** A new lease; release it when the operation's record is written (or it failed). */
  take(): Lease {
    const l = new Lease(this, () => this.leases.delete(l));
    this.leases.add(l);
    return l;
  }

  held(d: Digest): boolean {
    for (const l of this.leases) if (l.holds(d)) return true;
    return false;
  }

  /** Run a drop's check-and-delete, or a holder's existence check, for one key. */
  guarded<T>(d: Digest, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(d, fn);
  }
}

export class Lease {
  private readonly items = new Set<Digest>();
  private released = false;

  constructor(
    private readonly table: LeaseTable,
    private readonly onRelease: () => void,
  ) {}

  /** Keep these chain IDs / blob digests from every drop until release. */
  hold(...digests: Digest[]): this {
    for (const d of digests) this.items.add(d);
    return this;
  }

  holds(d: Digest): boolean {
    return this.items.has(d);
  }

  /** Hold `d`, then check it still exists, ordered against any drop of it. */
  async has(d: Digest, exists: (d: Digest) => Promise<boolean>): Promise<boolean> {
    this.hold(d);
    return this.table.guarded(d, () => exists(d));
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }
}
