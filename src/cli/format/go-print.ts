/**
 * Go's fmt printing of decoded JSON values, as docker's templates show them: `%v` of a slice
 * is `[a b]`, of a map `map[k:v]` (keys sorted), of a struct `{v1 v2}`, of nil `<nil>`.
 * JSON objects do not say whether they were structs or maps: objects whose keys all start
 * with an upper-case letter print as structs (Docker's Go types), others as maps.
 */

/** Marks context objects that behave as Go structs (missing fields are errors). */
export const STRUCT_NAME = Symbol('goStructName');

export const NO_VALUE = '<no value>';

export function isStructLike(v: object): boolean {
  if ((v as Record<symbol, unknown>)[STRUCT_NAME] !== undefined) return true;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => /^[A-Z]/.test(k));
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  // Go's %v of a float64 is %g with the shortest representation.
  const s = String(n);
  const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
  if (m) return `${m[1]}e${m[2]}${(m[3] as string).padStart(2, '0')}`;
  return s;
}

export function formatValue(v: unknown, top = true): string {
  if (v === undefined) return top ? NO_VALUE : '<nil>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, false)).join(' ')}]`;
  if (typeof v === 'object') {
    const obj = v as Record<string, unknown>;
    if (isStructLike(obj)) {
      const vals = Object.keys(obj)
        .filter((k) => typeof obj[k] !== 'function')
        .map((k) => formatValue(obj[k], false));
      return `{${vals.join(' ')}}`;
    }
    const keys = Object.keys(obj).sort();
    // Port maps (NetworkSettings.Ports, PortBindings) hold Go slices: nil prints as [].
    const nilAs = (k: string): string => (/^\d+(-\d+)?\/(tcp|udp|sctp)$/.test(k) ? '[]' : '<nil>');
    return `map[${keys.map((k) => `${k}:${obj[k] === null ? nilAs(k) : formatValue(obj[k], false)}`).join(' ')}]`;
  }
  return String(v);
}

function goQuote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}

/** Go's fmt.Sprintf for the verbs templates use: %v %s %d %q %x %X %f %e %g %t %c %%. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argi = 0;
  const re = /%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format)) !== null) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const flags = m[1] ?? '';
    let widthStr = m[2];
    let precStr = m[3];
    const verb = m[4] as string;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (widthStr === '*') widthStr = String(args[argi++]);
    if (precStr === '*') precStr = String(args[argi++]);
    const hasPrec = m[0].includes('.');
    const prec = hasPrec ? Number(precStr ?? 0) : undefined;
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    let s: string;
    switch (verb) {
      case 'v':
        s =
          flags.includes('+') && arg && typeof arg === 'object' && !Array.isArray(arg)
            ? `{${Object.entries(arg as Record<string, unknown>)
                .map(([k, x]) => `${k}:${formatValue(x, false)}`)
                .join(' ')}}`
            : formatValue(arg, false);
        break;
      case 's':
        s = typeof arg === 'string' ? arg : formatValue(arg, false);
        if (prec !== undefined) s = [...s].slice(0, prec).join('');
        break;
      case 'q':
        s = goQuote(typeof arg === 'string' ? arg : formatValue(arg, false));
        break;
      case 'd':
        s =
          typeof arg === 'number'
            ? String(Math.trunc(arg))
            : `%!d(${typeName(arg)}=${formatValue(arg, false)})`;
        if (flags.includes('+') && typeof arg === 'number' && arg >= 0) s = `+${s}`;
        break;
      case 'x':
      case 'X': {
        if (typeof arg === 'number') s = Math.trunc(arg).toString(16);
        else s = Buffer.from(String(arg)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      case 'f':
      case 'F':
        s =
          typeof arg === 'number'
            ? arg.toFixed(prec ?? 6)
            : `%!f(${typeName(arg)}=${formatValue(arg, false)})`;
        break;
      case 'e':
        s = typeof arg === 'number' ? goExp(arg, prec ?? 6) : `%!e(${typeName(arg)})`;
        break;
      case 'g':
        s = typeof arg === 'number' ? formatNumber(arg) : `%!g(${typeName(arg)})`;
        break;
      case 't':
        s =
          typeof arg === 'boolean'
            ? String(arg)
            : `%!t(${typeName(arg)}=${formatValue(arg, false)})`;
        break;
      case 'c':
        s = typeof arg === 'number' ? String.fromCodePoint(arg) : `%!c(${typeName(arg)})`;
        break;
      default:
        s = `%!${verb}(${typeName(arg)}=${formatValue(arg, false)})`;
    }
    const width = widthStr !== undefined ? Number(widthStr) : 0;
    const len = [...s].length;
    if (len < width) {
      if (flags.includes('-')) s = s + ' '.repeat(width - len);
      else if (flags.includes('0') && /[dfxXe]/.test(verb)) {
        const neg = s.startsWith('-');
        s = (neg ? '-' : '') + (neg ? s.slice(1) : s).padStart(width - (neg ? 1 : 0), '0');
      } else s = ' '.repeat(width - len) + s;
    }
    out += s;
  }
  out += format.slice(last);
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${typeName(a)}=${formatValue(a, false)}`)
      .join(', ')})`;
  }
  return out;
}

function goExp(n: number, prec: number): string {
  const [m, e] = n.toExponential(prec).split('e') as [string, string];
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

export function typeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Go's fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a, false);
  });
  return out;
}

/** Go's fmt.Sprintln: always spaces, and a newline. */
export function sprintln(args: readonly unknown[]): string {
  return `${args.map((a) => formatValue(a, false)).join(' ')}\n`;
}
