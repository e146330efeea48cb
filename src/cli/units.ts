/** Sizes, durations and times as docker's CLI parses and prints them (go-units semantics). */
import { humanDuration } from '../api-types/human.js';
import { parseGoDuration } from '../api-types/time.js';

const BINARY: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** go-units RAMInBytes: "512m", "1g", "1.5GiB", "100" (bytes); binary multipliers. */
export function ramInBytes(size: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(size);
  if (!m) {
    const num = /^\d+(?:\.\d+)*/.exec(size);
    if (num) throw new Error(`invalid suffix: '${size.slice(num[0].length)}'`);
    throw new Error(`invalid size: '${size}'`);
  }
  const value = Number.parseFloat(m[1] as string);
  const mult = BINARY[(m[2] ?? '').toLowerCase()] as number;
  return Math.trunc(value * mult);
}

/** --cpus "1.5" → NanoCpus 1500000000; more than 9 decimals is "too precise" (as docker). */
export function parseCpus(value: string): number {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(value.trim());
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
    throw new Error(`failed to parse ${value} as a rational number`);
  }
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw new Error('value is too precise');
  return Number(m[1] || '0') * 1e9 + Number(frac.padEnd(9, '0') || '0');
}

/** Go's time.ParseDuration, in nanoseconds: "1h30m", "300ms", "-1.5h", "0". */
export const parseDuration = parseGoDuration;

export { humanDuration };

/** "5 seconds ago" for a Unix time in seconds. */
export function timeAgo(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

/** Go's %.Ng: N significant digits, trailing zeros dropped, exponent form when large. */
export function goFormatG(v: number, precision: number): string {
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  const rounded = Number(v.toPrecision(precision));
  const e = rounded === 0 ? exp : Math.floor(Math.log10(Math.abs(rounded)));
  if (e < -4 || e >= precision) {
    const [mant, ex] = rounded.toExponential(precision - 1).split('e') as [string, string];
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    const n = Number(ex);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = rounded.toFixed(Math.max(0, precision - 1 - e));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function customSize(size: number, base: number, abbrs: string[], precision: number): string {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return `${goFormatG(size, precision)}${abbrs[i]}`;
}

/** go-units HumanSizeWithPrecision(size, 3): "4.26MB", "1.2kB", "0B". */
export function humanSize(bytes: number, precision = 3): string {
  return customSize(bytes, 1000, DECIMAL_ABBRS, precision);
}

/** go-units BytesSize: binary units with 4 significant digits, "7.762GiB". */
export function bytesSize(bytes: number): string {
  return customSize(bytes, 1024, BINARY_ABBRS, 4);
}

/**
 * docker's timetypes.GetTimestamp for --since/--until: a Go duration ("10m") is relative to
 * `now`; RFC 3339 dates and Unix timestamps ("1700000000.5") pass through as seconds.
 */
export function getTimestamp(value: string, now = Date.now()): string {
  if (value === '') return '';
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  try {
    const ns = parseDuration(value);
    const secs = (now - ns / 1e6) / 1000;
    return secs.toFixed(9);
  } catch {
    // Not a duration: a date.
  }
  let v = value;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) v += 'T00:00:00';
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(v);
  const t = Date.parse(hasZone ? v : v);
  if (Number.isNaN(t)) throw new Error(`failed to parse value as time or duration: "${value}"`);
  return (t / 1000).toFixed(9);
}

/** Go's RFC3339Nano with fixed 9 fraction digits, in local time ("...05.123000000Z"). */
export function rfc3339NanoFixed(timeNano: bigint | number): string {
  const ns = BigInt(timeNano);
  const ms = Number(ns / 1_000_000n);
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000).toISOString().slice(0, 19);
  const zone =
    off === 0
      ? 'Z'
      : `${off > 0 ? '+' : '-'}${String(Math.trunc(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  return `${local}.${frac}${zone}`;
}

/** Go's time.Time.String() for a Unix time: "2024-01-02 15:04:05 +0000 UTC". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const off = -d.getTimezoneOffset();
  const local = new Date(unixSeconds * 1000 + off * 60_000).toISOString();
  const sign = off >= 0 ? '+' : '-';
  const hh = String(Math.trunc(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  const zone = off === 0 ? 'UTC' : `${sign}${hh}`;
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${sign}${hh}${mm} ${zone}`;
}
