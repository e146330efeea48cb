import { invalidArgument } from '../common/index.js';

export const DEFAULT_DETACH_KEYS = Buffer.from([0x10, 0x11]); // ctrl-p, ctrl-q

/** Parse docker's detach-keys spec: "ctrl-p,ctrl-q", "a,ctrl-@", ... */
export function parseDetachKeys(spec: string | undefined): Buffer {
  if (!spec) return DEFAULT_DETACH_KEYS;
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) out.push(k.charCodeAt(0));
    else if (/^ctrl-[a-z@[\\\]^_]$/.test(k)) {
      const c = k.slice(5);
      out.push(c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : c.charCodeAt(0) - 64);
    } else throw invalidArgument(`Invalid detach keys (${spec}) provided`);
  }
  return Buffer.from(out);
}

/** Scans a stdin stream for the detach sequence; returns what may be forwarded. */
export class DetachScanner {
  private matched = 0;
  constructor(private readonly keys: Buffer) {}

  /** `forward` is the data to pass on; `detach` true when the sequence completed. */
  push(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      // A partial match that failed: its bytes were real input after all.
      if (this.matched > 0) out.push(...this.keys.subarray(0, this.matched));
      this.matched = byte === this.keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
