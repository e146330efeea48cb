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
      // A partial match that failed. The longest tail of (matched keys + this byte) that is
      // itself a start of the sequence stays pending (with "a,a,b", typing "a a a b"
      // detaches); the bytes before it were real input after all.
      const seen = Buffer.concat([this.keys.subarray(0, this.matched), Buffer.from([byte])]);
      let keep = Math.min(seen.length, this.keys.length - 1);
      while (keep > 0 && !seen.subarray(seen.length - keep).equals(this.keys.subarray(0, keep)))
        keep--;
      out.push(...seen.subarray(0, seen.length - keep));
      this.matched = keep;
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
