import { constants } from 'node:os';

import { invalidArgument } from '../common/index.js';

const BY_NUMBER = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num, name]),
);

/** Parse a signal as Docker accepts it: "SIGKILL", "KILL", "kill", "9". Returns "SIGKILL". */
export function parseSignal(sig: string): string {
  const s = sig.trim();
  if (/^\d+$/.test(s)) {
    const name = BY_NUMBER.get(Number(s));
    if (!name) throw invalidArgument(`Invalid signal: ${sig}`);
    return name;
  }
  const upper = s.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!(name in constants.signals)) throw invalidArgument(`Invalid signal: ${sig}`);
  return name;
}

export function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 15;
}
