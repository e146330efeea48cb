/**
 * Draws docker's JSON progress stream (pull, push) as the docker CLI does: on a terminal one
 * line per layer, redrawn in place with ANSI cursor moves (progress bars computed from
 * `progressDetail`); elsewhere plain lines, without the byte-by-byte progress messages.
 */
import { humanSizeDecimal, type JSONMessage } from '../api-types/index.js';

export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const CLEAR_LINE = '\x1b[2K';
const up = (n: number): string => (n > 0 ? `\x1b[${n}A` : '');
const down = (n: number): string => (n > 0 ? `\x1b[${n}B` : '');

/** The bar text for a terminal of `columns` (numbers only when narrower than 110). */
export function progressText(
  detail: JSONMessage['progressDetail'],
  columns: number | undefined,
): string {
  const current = detail?.current ?? 0;
  const total = detail?.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSizeDecimal(current).padStart(8);
  const numbers = `${humanSizeDecimal(current).padStart(8)}/${humanSizeDecimal(total)}`;
  if (columns !== undefined && columns < 110) return numbers;
  let filled = Math.floor((current / total) * 50);
  if (filled > 50) filled = 50;
  return `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}] ${numbers}`;
}

export class ProgressRenderer {
  /** Line index of each layer id, counted from the first tracked line. */
  private ids = new Map<string, number>();

  constructor(private readonly out: ProgressOutput) {}

  private get tty(): boolean {
    return !!this.out.isTTY;
  }

  render(m: JSONMessage): void {
    const hasProgress = m.progressDetail !== undefined;
    let diff = 0;
    if (m.id && hasProgress) {
      let line = this.ids.get(m.id);
      if (line === undefined) {
        line = this.ids.size;
        this.ids.set(m.id, line);
        if (this.tty) this.out.write('\n');
      }
      diff = this.ids.size - line;
      if (this.tty) this.out.write(up(diff));
    } else {
      // Anything else starts a new block: earlier layer lines are no longer redrawn.
      this.ids = new Map();
    }
    this.display(m);
    if (m.id && hasProgress && this.tty) this.out.write(down(diff));
  }

  private display(m: JSONMessage): void {
    const bar = hasBar(m) ? progressText(m.progressDetail, this.out.columns) : '';
    let endl = '';
    if (this.tty && m.progressDetail !== undefined) {
      this.out.write(`${CLEAR_LINE}\r`);
      endl = '\r';
    } else if (bar !== '') {
      return; // progress bars only on a terminal
    }
    const prefix = m.id ? `${m.id}: ` : '';
    if (this.tty && m.progressDetail !== undefined) {
      this.out.write(`${prefix}${m.status ?? ''} ${bar}${endl}`);
    } else if (m.stream !== undefined) {
      this.out.write(`${prefix}${m.stream}${endl}`);
    } else if (m.status !== undefined) {
      this.out.write(`${prefix}${m.status}${endl}\n`);
    }
  }
}

function hasBar(m: JSONMessage): boolean {
  const d = m.progressDetail;
  return !!d && ((d.current ?? 0) > 0 || (d.total ?? 0) > 0);
}
