/**
 * A small pflag-compatible parser (docker's flag syntax): `--flag value`, `--flag=value`,
 * `-abc` combined shorthands, `-p80` / `-p=80` attached values, repeated list flags,
 * `--rm=false`, `--` terminator. Interspersed (flags after positionals) unless the command
 * passes everything after its first positional through (run, create, exec).
 */

export type FlagType = 'bool' | 'string' | 'list' | 'int';

export interface FlagDef {
  name: string;
  short?: string;
  type: FlagType;
  help: string;
  /** Default for string/int/bool flags (lists default to []). */
  default?: string | number | boolean;
  /** The value placeholder shown in help (`string`, `list`, `bytes`...). */
  valueName?: string;
  hidden?: boolean;
}

/** A flag syntax error: docker exits 125 for these, whatever the command. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

type Value = string | number | boolean | string[];

export class FlagValues {
  private readonly values = new Map<string, Value>();
  private readonly changedSet = new Set<string>();

  constructor(private readonly defs: readonly FlagDef[]) {
    for (const d of defs) {
      if (d.type === 'list') this.values.set(d.name, []);
      else if (d.default !== undefined) this.values.set(d.name, d.default);
      else this.values.set(d.name, d.type === 'bool' ? false : d.type === 'int' ? 0 : '');
    }
  }

  /** Records one occurrence of a flag (used by the parser). */
  set(def: FlagDef, raw: string): void {
    this.changedSet.add(def.name);
    switch (def.type) {
      case 'bool':
        this.values.set(def.name, parseBool(raw, def));
        break;
      case 'int':
        this.values.set(def.name, parseIntFlag(raw, def));
        break;
      case 'list':
        (this.values.get(def.name) as string[]).push(raw);
        break;
      default:
        this.values.set(def.name, raw);
    }
  }

  changed(name: string): boolean {
    return this.changedSet.has(name);
  }

  bool(name: string): boolean {
    return this.get(name) as boolean;
  }

  str(name: string): string {
    return this.get(name) as string;
  }

  int(name: string): number {
    return this.get(name) as number;
  }

  list(name: string): string[] {
    return this.get(name) as string[];
  }

  private get(name: string): Value {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`internal: flag --${name} is not defined`);
    return v;
  }

  get definitions(): readonly FlagDef[] {
    return this.defs;
  }
}

export interface ParseResult {
  flags: FlagValues;
  args: string[];
  help: boolean;
}

export function flagLabel(def: FlagDef): string {
  return def.short ? `-${def.short}, --${def.name}` : `--${def.name}`;
}

function parseBool(raw: string, def: FlagDef): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(raw)) return false;
  throw new FlagError(
    `invalid argument "${raw}" for "${flagLabel(def)}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`,
  );
}

function parseIntFlag(raw: string, def: FlagDef): number {
  if (!/^[+-]?\d+$/.test(raw)) {
    throw new FlagError(
      `invalid argument "${raw}" for "${flagLabel(def)}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`,
    );
  }
  return Number.parseInt(raw, 10);
}

export interface ParseOptions {
  /** false: the first positional ends flag parsing (docker run/create/exec). */
  interspersed?: boolean;
}

export function parseFlags(
  defs: readonly FlagDef[],
  argv: readonly string[],
  opts: ParseOptions = {},
): ParseResult {
  const interspersed = opts.interspersed ?? true;
  const flags = new FlagValues(defs);
  const byName = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short as string, d]));
  const args: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (!interspersed) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(a);
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const def = byName.get(name);
      if (!def) {
        if (name === 'help') {
          help = true;
          continue;
        }
        throw new FlagError(`unknown flag: --${name}`);
      }
      if (eq >= 0) flags.set(def, a.slice(eq + 1));
      else if (def.type === 'bool') flags.set(def, 'true');
      else if (i + 1 < argv.length) flags.set(def, argv[++i] as string);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    // Shorthands: -abc, -p80, -p=80, -d=false.
    const shorts = a.slice(1);
    for (let j = 0; j < shorts.length; j++) {
      const c = shorts[j] as string;
      const def = byShort.get(c);
      if (!def) {
        if (c === 'h') {
          help = true;
          continue;
        }
        throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
      }
      const rest = shorts.slice(j + 1);
      if (def.type === 'bool') {
        if (rest.startsWith('=')) {
          flags.set(def, rest.slice(1));
          break;
        }
        flags.set(def, 'true');
        continue;
      }
      if (rest !== '') flags.set(def, rest.startsWith('=') ? rest.slice(1) : rest);
      else if (i + 1 < argv.length) flags.set(def, argv[++i] as string);
      else throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
      break;
    }
  }
  return { flags, args, help };
}

/** Docker-style options listing for --help. */
export function formatFlagHelp(defs: readonly FlagDef[]): string {
  const visible = [...defs, { name: 'help', type: 'bool', help: 'Print usage' } as FlagDef]
    .filter((d) => !d.hidden)
    .sort((x, y) => x.name.localeCompare(y.name));
  const left = visible.map((d) => {
    const names = d.short ? `-${d.short}, --${d.name}` : `    --${d.name}`;
    const vn = d.type === 'bool' ? '' : ` ${d.valueName ?? (d.type === 'int' ? 'int' : d.type)}`;
    return `  ${names}${vn}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 3;
  return visible
    .map((d, i) => {
      let help = d.help;
      if (d.default !== undefined && d.default !== '' && d.default !== false) {
        help += d.type === 'string' ? ` (default "${d.default}")` : ` (default ${d.default})`;
      }
      return (left[i] as string).padEnd(width) + help;
    })
    .join('\n');
}
