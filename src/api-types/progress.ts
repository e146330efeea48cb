/**
 * The progress bar text of docker's JSON progress messages (`"progress"` field), which the
 * daemon sends and clients print as is when they do not redraw from `progressDetail`.
 */

import type { JSONMessage } from './client-views.js';

/**
 * Typed progress of pulls and pushes. The engine emits these; the API serialises them as
 * docker's JSON progress messages (`toJSONMessage`), and clients draw them.
 */
export type ProgressEvent =
  /** A line without a layer ("Digest: …", "Status: …") or about a tag (id = tag). */
  | { kind: 'message'; status: string; id?: string }
  /** One layer's state; `current`/`total` in bytes while transferring. */
  | { kind: 'layer'; id: string; status: string; current?: number; total?: number }
  /** Machine-readable results (push: `{Tag, Digest, Size}`). */
  | { kind: 'aux'; aux: Record<string, unknown> };

export type ProgressSink = (e: ProgressEvent) => void;

/** docker's wire shape of a progress event. */
export function toJSONMessage(e: ProgressEvent): JSONMessage {
  if (e.kind === 'aux') return { progressDetail: {}, aux: e.aux };
  if (e.kind === 'message')
    return { status: e.status, ...(e.id !== undefined ? { id: e.id } : {}) };
  if (e.current !== undefined) {
    return {
      status: e.status,
      progressDetail: { current: e.current, ...(e.total !== undefined ? { total: e.total } : {}) },
      progress: progressBarText(e.current, e.total),
      id: e.id,
    };
  }
  return { status: e.status, progressDetail: {}, id: e.id };
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** go-units HumanSize: decimal units, 4 significant digits ("2.151MB", "512B"). */
export function humanSizeDecimal(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${UNITS[i]}`;
}

/**
 * `[=====>      ]  12.3MB/50MB` (a 50-column bar, as jsonmessage.JSONProgress.String with
 * an unknown terminal width); just the size when the total is unknown.
 */
export function progressBarText(current: number, total: number | undefined): string {
  if (!total || total <= 0) return humanSizeDecimal(current).padStart(8);
  let filled = Math.floor(((current / total) * 100) / 2);
  if (filled > 50) filled = 50;
  const bar = `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}] `;
  return `${bar}${humanSizeDecimal(current).padStart(8)}/${humanSizeDecimal(total)}`;
}
