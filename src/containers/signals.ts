import { constants } from 'node:os';

import { invalidArgument } from '../common/index.js';

const BY_NUMBER = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num, name]),
);

/** glibc's real-time signal range on Linux (the kernel's 32 and 33 are the C library's). */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/**
 * Parse a signal as Docker accepts it: "SIGKILL", "KILL", "kill", "9" → "SIGKILL". Real-time
 * signals ("RTMIN", "SIGRTMIN+3", "RTMAX-1", 34-64) come back as their number ("37"), which is
 * how runc takes them (it knows no RT names).
 */
export function parseSignal(sig: string): string {
  const s = sig.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return String(n);
    const name = BY_NUMBER.get(n);
    if (!name) throw invalidArgument(`Invalid signal: ${sig}`);
    return name;
  }
  const upper = s.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = realtimeSignal(name);
  if (rt !== undefined) return String(rt);
  if (!(name in constants.signals)) throw invalidArgument(`Invalid signal: ${sig}`);
  return name;
}

/** SIGRTMIN, SIGRTMIN+1…+15, SIGRTMAX-14…-1, SIGRTMAX (Docker's names) → number. */
function realtimeSignal(name: string): number | undefined {
  const m = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (!m) return undefined;
  const [, base, op, num] = m;
  if (!op) return base === 'MIN' ? SIGRTMIN : SIGRTMAX;
  const n = Number(num);
  if (base === 'MIN' && op === '+' && n >= 1 && n <= 15) return SIGRTMIN + n;
  if (base === 'MAX' && op === '-' && n >= 1 && n <= 14) return SIGRTMAX - n;
  return undefined;
}

/** The number of a parsed signal (a name, or a real-time signal's number). */
export function signalNumber(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  return (constants.signals as Record<string, number>)[name] ?? 15;
}
