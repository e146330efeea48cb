/**
 * Docker's time values on the wire: `since`/`until` query parameters (unix seconds with an
 * optional fraction, RFC 3339 dates and times, or Go durations meaning "that long ago"), Go
 * durations (`1m30s`) and RFC 3339 formatting with nanoseconds.
 *
 * Nanosecond instants are `bigint` (a float holds a 2020s unix time only to ~240 ns).
 */
import { invalidArgument } from '../common/errors.js';

const NS_PER_SEC = 1_000_000_000n;

/** Go duration units, in nanoseconds. */
const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3, // U+00B5 micro sign
  '\u03bcs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const MAX_DURATION_NS = 2 ** 63 - 1;

/**
 * Parse a Go duration (`time.ParseDuration`): `300ms`, `-1.5h`, `2h45m`, `0`. Returns
 * nanoseconds (exact up to ~104 days, then to the float's precision). Errors carry Go's text.
 */
export function parseGoDuration(value: string): number {
  const bad = (): Error => invalidArgument(`time: invalid duration "${value}"`);
  let s = value;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, int, frac] = [m[0], m[1] ?? '', m[2]];
    if (int === '' && (frac === undefined || frac === '')) throw bad();
    s = s.slice(whole.length);
    const unitMatch = /^[^\d.]+/.exec(s);
    if (!unitMatch) throw invalidArgument(`time: missing unit in duration "${value}"`);
    const unit = unitMatch[0];
    const scale = DURATION_UNITS[unit];
    if (scale === undefined) {
      throw invalidArgument(`time: unknown unit "${unit}" in duration "${value}"`);
    }
    s = s.slice(unit.length);
    total += Number(int || '0') * scale;
    if (frac) total += Math.round(Number(`0.${frac}`) * scale);
    if (total > MAX_DURATION_NS) throw bad();
  }
  return neg ? -total : total;
}

/** Format nanoseconds as Go's `Duration.String()`: `1h30m0s`, `1.5s`, `250ms`, `0s`. */
export function formatGoDuration(ns: number | bigint): string {
  let u = BigInt(typeof ns === 'bigint' ? ns : Math.round(ns));
  const neg = u < 0n;
  if (neg) u = -u;
  const sign = neg ? '-' : '';
  if (u === 0n) return '0s';
  if (u < NS_PER_SEC) {
    // Sub-second: the largest unit that keeps an integer part (ns, µs, ms).
    const [div, unit] =
      u < 1000n ? [1n, 'ns'] : u < 1_000_000n ? [1000n, '\u00b5s'] : [1_000_000n, 'ms'];
    return sign + fraction(u, div) + unit;
  }
  let out = fraction(u % 60_000_000_000n, NS_PER_SEC) + 's';
  const mins = u / 60_000_000_000n;
  if (mins > 0n) {
    out = `${mins % 60n}m${out}`;
    const hours = mins / 60n;
    if (hours > 0n) out = `${hours}h${out}`;
  }
  return sign + out;
}

/** `v / div` in decimal with trailing zeros of the fraction trimmed (`1.5`, `2`). */
function fraction(v: bigint, div: bigint): string {
  const whole = v / div;
  const rest = v % div;
  if (rest === 0n) return whole.toString();
  const digits = div.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

export interface ParseTimeOptions {
  /** "Now" in unix milliseconds, for durations; default Date.now(). */
  now?: number;
  /**
   * The zone of values without one, in minutes east of UTC; default the local zone at `now`
   * (Go: `time.FixedZone(reference.Zone())`).
   */
  zoneOffsetMinutes?: number;
}

/**
 * Docker's since/until parsing (`daemon/internal/timestamp.Parse`) to nanoseconds since the
 * epoch. Accepts Go durations relative to now (`10m` = ten minutes ago), `2006-01-02`,
 * `2006-01-02T15`, `2006-01-02T15:04`, `2006-01-02T15:04:05[.999999999]` each with an optional
 * `Z`/`±07:00` zone (local time without one), and unix seconds with an optional fraction.
 */
export function parseTimestampNano(value: string, opts: ParseTimeOptions = {}): bigint {
  const now = opts.now ?? Date.now();
  if (value.trim() === '') {
    throw invalidArgument('failed to parse value as time or duration: value is empty');
  }
  if (value !== '0') {
    let d: number | undefined;
    try {
      d = parseGoDuration(value);
    } catch {
      d = undefined; // not a duration: try the other forms
    }
    if (d !== undefined) return BigInt(Math.round(now)) * 1_000_000n - BigInt(d);
  }

  const inLocation = !/[zZ+]/.test(value) && (value.match(/-/g) ?? []).length !== 3;
  const t = parseRFC3339Like(value, inLocation);
  if (t !== undefined) {
    if (t.offsetMinutes !== undefined) return t.ns - BigInt(t.offsetMinutes) * 60n * NS_PER_SEC;
    const zone = opts.zoneOffsetMinutes ?? -new Date(now).getTimezoneOffset();
    return t.ns - BigInt(zone) * 60n * NS_PER_SEC;
  }
  if (value.includes('-')) {
    throw invalidArgument(`parsing time "${value}": cannot parse as RFC 3339 date or time`);
  }
  return parseUnixTimestampNano(value);
}

/** As parseTimestampNano, in float unix seconds (sub-microsecond digits are lost). */
export function parseTimestamp(value: string, opts: ParseTimeOptions = {}): number {
  return nanoToSeconds(parseTimestampNano(value, opts));
}

/** `seconds[.fraction]` → nanoseconds; fraction digits beyond 9 are truncated (as Docker). */
export function parseUnixTimestampNano(value: string): bigint {
  const fail = (why: string): Error =>
    invalidArgument(`failed to parse value as time or duration: ${why}`);
  const dot = value.indexOf('.');
  const s = dot < 0 ? value : value.slice(0, dot);
  const n = dot < 0 ? '' : value.slice(dot + 1);
  if (!/^[+-]?\d{1,19}$/.test(s)) throw fail(`invalid seconds "${s}": invalid syntax`);
  if (n.length > 20) throw fail(`invalid nanoseconds: length ${n.length} exceeds maximum 20`);
  const badAt = n.search(/[^0-9]/);
  if (badAt >= 0)
    throw fail(`invalid nanoseconds: invalid character '${n[badAt]}' at position ${badAt}`);
  const nsec = BigInt((n.slice(0, 9) || '0').padEnd(9, '0'));
  return BigInt(s) * NS_PER_SEC + nsec;
}

export function nanoToSeconds(ns: bigint): number {
  const sec = ns / NS_PER_SEC;
  return Number(sec) + Number(ns - sec * NS_PER_SEC) / 1e9;
}

/** Float unix seconds → nanoseconds (rounded to the microsecond the float can carry). */
export function secondsToNano(seconds: number): bigint {
  const whole = Math.floor(seconds);
  return BigInt(whole) * NS_PER_SEC + BigInt(Math.round((seconds - whole) * 1e6)) * 1000n;
}

interface Parsed {
  /** Wall-clock fields read as if UTC. */
  ns: bigint;
  offsetMinutes?: number;
}

const RFC3339_LIKE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/;

/** Date, date-hour, date-hour-minute or full RFC 3339 (optionally with a zone). */
function parseRFC3339Like(value: string, inLocation: boolean): Parsed | undefined {
  const m = RFC3339_LIKE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (inLocation === (zone !== undefined)) return undefined;
  const [year, month, day] = [Number(y), Number(mo), Number(d)];
  const [hour, min, sec] = [Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)];
  const ms = Date.UTC(year, month - 1, day, hour, min, sec);
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    min > 59 ||
    sec > 59
  ) {
    return undefined;
  }
  const ns = BigInt(ms) * 1_000_000n + BigInt((frac ?? '').padEnd(9, '0') || '0');
  if (zone === undefined) return { ns };
  if (zone === 'Z' || zone === 'z') return { ns, offsetMinutes: 0 };
  const sign = zone[0] === '-' ? -1 : 1;
  return { ns, offsetMinutes: sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) };
}

/**
 * Parse an RFC 3339 timestamp with a zone (`2024-01-02T03:04:05.123456789+01:00`) into
 * nanoseconds since the epoch; undefined when it is not one. Fast path for log records.
 */
export function parseRFC3339Nano(value: string): bigint | undefined {
  const m = RFC3339_LIKE.exec(value);
  if (!m || m[6] === undefined || m[8] === undefined) return undefined;
  const t = parseRFC3339Like(value, false);
  if (t === undefined) return undefined;
  return t.ns - BigInt(t.offsetMinutes ?? 0) * 60n * NS_PER_SEC;
}

/**
 * Format nanoseconds since the epoch in UTC as Go's RFC3339Nano (`fixed: false`, trailing
 * zeros of the fraction trimmed, no fraction when zero) or Docker's fixed-width variant
 * (`2006-01-02T15:04:05.000000000Z07:00`, used for `docker logs --timestamps`).
 */
export function formatRFC3339Nano(ns: bigint, opts: { fixed?: boolean } = {}): string {
  let sec = ns / NS_PER_SEC;
  let nsec = ns % NS_PER_SEC;
  if (nsec < 0n) {
    nsec += NS_PER_SEC;
    sec -= 1n;
  }
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  let frac = nsec.toString().padStart(9, '0');
  if (!opts.fixed) frac = frac.replace(/0+$/, '');
  return frac === '' ? `${base}Z` : `${base}.${frac}Z`;
}
