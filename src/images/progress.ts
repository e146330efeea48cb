import type { ProgressSink } from '../api-types/index.js';

export type { ProgressEvent, ProgressSink } from '../api-types/index.js';

/** Docker names layers in progress output by the first 12 hex digits of a digest. */
export function shortLayerId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Rate-limits byte progress of one layer (a message per ~100 ms, and the last one). */
export function throttledProgress(
  sink: ProgressSink,
  id: string,
  status: string,
  total: number | undefined,
  intervalMs = 100,
): { update(current: number): void; flush(): void } {
  let last = 0;
  let pending: number | undefined;
  const emit = (current: number): void => {
    last = Date.now();
    pending = undefined;
    sink({ kind: 'layer', id, status, current, ...(total !== undefined ? { total } : {}) });
  };
  return {
    update(current) {
      if (Date.now() - last >= intervalMs) emit(current);
      else pending = current;
    },
    flush() {
      if (pending !== undefined) emit(pending);
    },
  };
}
