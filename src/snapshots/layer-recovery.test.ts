import { describe, expect, it } from 'vitest';

import { planLayerRecovery, type FoundLayer } from './layer-recovery.js';

const hex = (c: string): string => c.repeat(64);
const layer = (
  h: string,
  opts: { parent?: string; boot?: string; flushed?: boolean; unreadable?: boolean } = {},
): FoundLayer => ({
  hex: hex(h),
  flushed: opts.flushed ?? false,
  ...(opts.unreadable
    ? {}
    : {
        record: {
          chainID: `sha256:${hex(h)}`,
          link: `L${h}`,
          ...(opts.parent ? { parent: `sha256:${hex(opts.parent)}` } : {}),
          ...(opts.boot ? { boot: opts.boot } : {}),
        },
      }),
});

describe('planLayerRecovery', () => {
  it('keeps flushed layers and layers of versions that flushed before the rename', () => {
    const plan = planLayerRecovery(
      [layer('a', { boot: 'old', flushed: true }), layer('b', { parent: 'a' })],
      'now',
    );
    expect(plan.keep.sort()).toEqual([hex('a'), hex('b')]);
    expect(plan.discard).toEqual([]);
    expect(plan.reflush).toEqual([]);
  });

  it('keeps unflushed layers of this boot (a kill -9) and flushes them again', () => {
    const plan = planLayerRecovery(
      [layer('a', { boot: 'now', flushed: true }), layer('b', { parent: 'a', boot: 'now' })],
      'now',
    );
    expect(plan.keep.sort()).toEqual([hex('a'), hex('b')]);
    expect(plan.reflush).toEqual([{ hex: hex('b'), link: 'Lb' }]);
  });

  it('discards unflushed layers of another boot with everything built on them', () => {
    const plan = planLayerRecovery(
      [
        layer('a', { boot: 'old', flushed: true }),
        layer('b', { parent: 'a', boot: 'old' }),
        // flushed itself, but its parent may be torn
        layer('c', { parent: 'b', boot: 'old', flushed: true }),
        layer('d', { parent: 'c', boot: 'now' }),
        layer('e', { parent: 'a', boot: 'now' }),
      ],
      'now',
    );
    expect(plan.keep.sort()).toEqual([hex('a'), hex('e')]);
    expect(plan.reflush).toEqual([{ hex: hex('e'), link: 'Le' }]);
    expect(Object.fromEntries(plan.discard.map((d) => [d.hex[0], d.reason]))).toEqual({
      b: 'not flushed before the machine went down',
      c: 'parent layer not flushed before the machine went down',
      d: 'parent layer parent layer not flushed before the machine went down',
    });
  });

  it('discards layers whose record is torn, names another chain, or whose parent is missing', () => {
    const wrong = layer('b');
    wrong.record!.chainID = `sha256:${hex('f')}`;
    const plan = planLayerRecovery(
      [layer('a', { unreadable: true }), wrong, layer('c', { parent: '9', flushed: true })],
      'now',
    );
    expect(plan.keep).toEqual([]);
    expect(plan.discard.map((d) => d.reason)).toEqual([
      'unreadable layer record',
      'unreadable layer record',
      'parent layer missing',
    ]);
  });

  it('discards a looping chain instead of recursing forever', () => {
    const plan = planLayerRecovery(
      [layer('a', { parent: 'b', flushed: true }), layer('b', { parent: 'a', flushed: true })],
      'now',
    );
    expect(plan.keep).toEqual([]);
    expect(plan.discard).toHaveLength(2);
  });
});
