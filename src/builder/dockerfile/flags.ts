/**
 * Instruction flags (`--from=x`, `--link`), validated as BuildKit's BFlags: unknown, duplicate
 * and valueless flags are errors with its wording.
 */
type FlagType = 'string' | 'bool' | 'strings';

export type FlagSpec = Record<string, FlagType>;

export interface ParsedFlags {
  strings: Map<string, string>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
}

export const FLAG_SPECS: Record<string, FlagSpec> = {
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string' },
  copy: {
    from: 'string',
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    parents: 'bool',
    exclude: 'strings',
  },
  add: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    checksum: 'string',
    'keep-git-dir': 'bool',
    exclude: 'strings',
    unpack: 'bool',
  },
  healthcheck: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

/** Parse `words` (from parser.extractFlags) against `spec`; throws a plain Error. */
export function parseFlags(words: readonly string[], spec: FlagSpec = {}): ParsedFlags {
  const out: ParsedFlags = { strings: new Map(), bools: new Map(), lists: new Map() };
  const seen = new Set<string>();
  for (const word of words) {
    if (!word.startsWith('--')) throw new Error(`Arg should start with -- : ${word}`);
    if (word === '--') break;
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const value = eq >= 0 ? body.slice(eq + 1) : '';
    const type = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (type === undefined) throw new Error(`unknown flag: ${name}`);
    if (seen.has(name) && type !== 'strings') throw new Error(`duplicate flag specified: ${name}`);
    seen.add(name);
    if (type === 'bool') {
      if (eq >= 0 && value === '') throw new Error(`missing a value on flag: ${name}`);
      const lower = value.toLowerCase();
      if (lower !== '' && lower !== 'true' && lower !== 'false')
        throw new Error(`expecting boolean value for flag ${name}, not: ${value}`);
      out.bools.set(name, lower !== 'false');
      continue;
    }
    if (eq < 0) throw new Error(`missing a value on flag: ${name}`);
    if (type === 'string') out.strings.set(name, value);
    else out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
  }
  return out;
}
