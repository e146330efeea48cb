/**
 * Logical lines → typed instructions grouped into stages, validated as BuildKit's
 * instructions package does (argument counts, flags, JSON forms, stage names). Arguments are
 * kept as written: variable substitution happens when the stage runs (expand.ts), because
 * it depends on the build args and the ENV of the stage so far.
 */
import { parseGoDuration } from '../../api-types/index.js';
import { DockerfileError } from './errors.js';
import { FLAG_SPECS, parseFlags, type ParsedFlags } from './flags.js';
import { parseDockerfile, splitWords, type Directives, type Heredoc, type Node } from './parser.js';

interface Base {
  line: number;
  endLine: number;
  /** The logical line as written (for messages: "Step 2/5 : RUN ..."). */
  original: string;
}

/** Shell form is the text as written; exec (JSON) form an argv. */
export type CommandForm = { json: true; argv: string[] } | { json: false; text: string };

export interface KeyValue {
  key: string;
  value: string;
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  /** ['NONE'] or the command: JSON form is ['CMD', ...], shell form ['CMD-SHELL', text]. */
  test: string[];
  /** Nanoseconds, as in the image config; unset options are inherited (see executor). */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  sources: string[];
  dest: string;
  json: boolean;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
  exclude: string[];
  /** `--parents`: keep each source's path (after a `/./` pivot) under the destination. */
  parents?: true;
  /** Bodies of `<<EOF` sources, by delimiter name. */
  heredocs: Heredoc[];
}

export type Instruction =
  | (Base & {
      kind: 'RUN';
      command: CommandForm;
      heredocs: Heredoc[];
      mounts: string[];
      network?: string;
      security?: string;
    })
  | (Base & { kind: 'CMD' | 'ENTRYPOINT'; command: CommandForm })
  | (Base & { kind: 'SHELL'; shell: string[] })
  | (Base & { kind: 'ENV' | 'LABEL'; pairs: KeyValue[] })
  | (Base & { kind: 'ARG'; args: Array<{ key: string; value?: string }> })
  | (Base & { kind: 'EXPOSE'; ports: string[] })
  | (Base & { kind: 'VOLUME'; paths: string[] })
  | (Base & { kind: 'USER' | 'WORKDIR' | 'STOPSIGNAL' | 'MAINTAINER'; value: string })
  | (Base & { kind: 'ONBUILD'; expression: string })
  | HealthcheckInstruction
  | CopyInstruction;

export type InstructionKind = Instruction['kind'];

export interface FromInstruction extends Base {
  kind: 'FROM';
  /** The image as written (`${BASE}` is expanded with the meta args when the stage runs). */
  image: string;
  /** The stage name of `AS name`, lowercased. */
  name?: string;
  platform?: string;
}

export interface Stage {
  index: number;
  from: FromInstruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Directives;
  /** ARGs before the first FROM: visible to FROM lines only (unless redeclared in a stage). */
  metaArgs: Array<Base & { kind: 'ARG'; args: Array<{ key: string; value?: string }> }>;
  stages: Stage[];
}

const KNOWN = new Set([
  'from',
  'run',
  'cmd',
  'entrypoint',
  'shell',
  'env',
  'label',
  'arg',
  'expose',
  'volume',
  'user',
  'workdir',
  'stopsignal',
  'maintainer',
  'onbuild',
  'healthcheck',
  'copy',
  'add',
]);

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

/**
 * The first JSON value of `rest` when it is an array of strings (Docker decodes one value and
 * ignores what follows it). undefined when `rest` is not JSON, so the shell form applies.
 */
export function parseJsonArray(rest: string): string[] | undefined {
  const s = rest.trimStart();
  if (!s.startsWith('[')) return undefined;
  let depth = 0;
  let inString = false;
  let end = -1;
  for (let i = 0; i < s.length && end < 0; i++) {
    const c = s[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) end = i + 1;
    }
  }
  if (end < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(s.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string'))
    throw new Error('when using JSON array syntax, arrays must be comprised of strings only');
  return value as string[];
}

function whitespaceWords(rest: string): string[] {
  return rest.split(/[ \t\r\n\f\v]+/).filter((w) => w !== '');
}

function nameValues(kind: 'ENV' | 'LABEL', rest: string, escape: string): KeyValue[] {
  const words = splitWords(rest, escape);
  if (words.length === 0) throw new Error(`${kind} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // The old `ENV name value with spaces` form: one pair, the value is the rest of the line.
    const m = /^(\S+)\s+([\s\S]+)$/.exec(rest);
    if (!m) throw new Error(`${kind} must have two arguments`);
    return [{ key: m[1]!, value: m[2]! }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0)
      throw new Error(
        `Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`,
      );
    if (eq === 0) throw new Error(`${kind} names can not be blank`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

function command(rest: string): CommandForm {
  const argv = parseJsonArray(rest);
  return argv ? { json: true, argv } : { json: false, text: rest };
}

function durationFlag(f: ParsedFlags, name: string): number | undefined {
  const v = f.strings.get(name);
  if (v === undefined || v === '') return undefined;
  const d = parseGoDuration(v);
  if (d === 0) return undefined;
  if (d < 1e6) throw new Error(`Interval ${JSON.stringify(name)} cannot be less than 1ms`);
  return d;
}

function healthcheck(base: Base, rest: string, f: ParsedFlags): HealthcheckInstruction {
  if (rest === '') throw new Error('HEALTHCHECK requires at least one argument');
  const m = /^(\S+)\s*([\s\S]*)$/.exec(rest)!;
  const type = m[1]!.toUpperCase();
  const args = m[2]!.trim();
  if (type === 'NONE') {
    if (args !== '' || f.strings.size > 0) throw new Error('HEALTHCHECK NONE takes no arguments');
    return { ...base, kind: 'HEALTHCHECK', test: ['NONE'] };
  }
  if (type !== 'CMD')
    throw new Error(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  if (args === '') throw new Error('Missing command after HEALTHCHECK CMD');
  const cmd = command(args);
  const h: HealthcheckInstruction = {
    ...base,
    kind: 'HEALTHCHECK',
    test: cmd.json ? ['CMD', ...cmd.argv] : ['CMD-SHELL', cmd.text],
  };
  const set = (key: 'interval' | 'timeout' | 'startPeriod' | 'startInterval', flag: string) => {
    const d = durationFlag(f, flag);
    if (d !== undefined) h[key] = d;
  };
  set('interval', 'interval');
  set('timeout', 'timeout');
  set('startPeriod', 'start-period');
  set('startInterval', 'start-interval');
  const retries = f.strings.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[-+]?\d+$/.test(retries))
      throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n < 0) throw new Error(`--retries cannot be negative (${n})`);
    h.retries = n;
  }
  return h;
}

function copyLike(kind: 'COPY' | 'ADD', base: Base, node: Node, f: ParsedFlags): CopyInstruction {
  const json = parseJsonArray(node.rest);
  const words = json ?? whitespaceWords(node.rest);
  if (words.length === 0) throw new Error(`${kind} requires at least two arguments`);
  if (words.length === 1)
    throw new Error(
      `${kind} requires at least two arguments, but only one was provided. Destination could not be determined`,
    );
  const out: CopyInstruction = {
    ...base,
    kind,
    sources: words.slice(0, -1),
    dest: words.at(-1)!,
    json: json !== undefined,
    link: f.bools.get('link') ?? false,
    exclude: f.lists.get('exclude') ?? [],
    heredocs: node.heredocs,
    ...(f.bools.get('parents') ? { parents: true as const } : {}),
  };
  for (const [key, flag] of [
    ['from', 'from'],
    ['chown', 'chown'],
    ['chmod', 'chmod'],
    ['checksum', 'checksum'],
  ] as const) {
    const v = f.strings.get(flag);
    if (v !== undefined) out[key] = v;
  }
  if (out.chmod !== undefined && out.chmod !== '' && !/^[0-7]{1,4}$/.test(out.chmod))
    throw new Error(`invalid chmod parameter: ${out.chmod}`);
  if (out.checksum !== undefined && !out.sources.every((s) => /^https?:\/\//.test(s)))
    throw new Error("checksum can't be specified for non-HTTP(S) sources");
  return out;
}

function exactlyOne(kind: string, rest: string): string {
  if (rest === '') throw new Error(`${kind} requires exactly one argument`);
  return rest;
}

/** One logical line as an instruction (not FROM). Throws plain Errors (wrapped by caller). */
function toInstruction(node: Node, escape: string): Instruction {
  const kind = node.cmd.toUpperCase() as InstructionKind;
  const f = parseFlags(node.flags, FLAG_SPECS[node.cmd]);
  const base: Base = { line: node.startLine, endLine: node.endLine, original: node.original };
  const rest = node.rest;
  switch (kind) {
    case 'RUN': {
      if (rest === '' && node.heredocs.length === 0)
        throw new Error('RUN requires at least one argument');
      const network = f.strings.get('network');
      if (network !== undefined && !['default', 'none', 'host'].includes(network))
        throw new Error(`unsupported network mode ${JSON.stringify(network)}`);
      return {
        ...base,
        kind,
        command: command(rest),
        heredocs: node.heredocs,
        mounts: f.lists.get('mount') ?? [],
        ...(network !== undefined ? { network } : {}),
        ...(f.strings.has('security') ? { security: f.strings.get('security')! } : {}),
      };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      if (rest === '') throw new Error(`${kind} requires at least one argument`);
      return { ...base, kind, command: command(rest) };
    case 'SHELL': {
      if (rest === '') throw new Error('SHELL requires at least one argument');
      const shell = parseJsonArray(rest);
      if (!shell) throw new Error('SHELL requires the arguments to be in JSON form');
      if (shell.length === 0) throw new Error('SHELL requires at least one argument');
      return { ...base, kind, shell };
    }
    case 'ENV':
    case 'LABEL':
      if (rest === '') throw new Error(`${kind} requires at least one argument`);
      return { ...base, kind, pairs: nameValues(kind, rest, escape) };
    case 'ARG': {
      const words = splitWords(rest, escape);
      if (words.length === 0) throw new Error('ARG requires at least one argument');
      return {
        ...base,
        kind,
        args: words.map((w) => {
          const eq = w.indexOf('=');
          if (eq === 0) throw new Error('ARG names can not be blank');
          return eq < 0 ? { key: w } : { key: w.slice(0, eq), value: w.slice(eq + 1) };
        }),
      };
    }
    case 'EXPOSE': {
      const ports = whitespaceWords(rest);
      if (ports.length === 0) throw new Error('EXPOSE requires at least one argument');
      // Sorted as written, before substitution (BuildKit's parser does; history shows it).
      ports.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return { ...base, kind, ports };
    }
    case 'VOLUME': {
      const paths = parseJsonArray(rest) ?? whitespaceWords(rest);
      if (paths.length === 0) throw new Error('VOLUME requires at least one argument');
      return { ...base, kind, paths };
    }
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      return { ...base, kind, value: exactlyOne(kind, rest) };
    case 'ONBUILD': {
      if (rest === '') throw new Error('ONBUILD requires at least one argument');
      const trigger = (/^\S+/.exec(rest)?.[0] ?? '').toUpperCase();
      if (trigger === 'ONBUILD')
        throw new Error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'FROM' || trigger === 'MAINTAINER')
        throw new Error(`${trigger} isn't allowed as an ONBUILD trigger`);
      // The trigger must itself be a valid instruction.
      const sub = parseDockerfile(rest).nodes[0];
      if (!sub || !KNOWN.has(sub.cmd)) throw new Error(`unknown instruction: ${trigger}`);
      toInstruction({ ...sub, startLine: node.startLine, endLine: node.endLine }, escape);
      return { ...base, kind, expression: rest };
    }
    case 'HEALTHCHECK':
      return healthcheck(base, rest, f);
    case 'COPY':
    case 'ADD':
      return copyLike(kind, base, node, f);
  }
  throw new Error(`unknown instruction: ${node.keyword}`);
}

function toFrom(node: Node): FromInstruction {
  const f = parseFlags(node.flags, FLAG_SPECS['from']);
  const args = whitespaceWords(node.rest);
  if (!(args.length === 1 || (args.length === 3 && args[1]!.toLowerCase() === 'as')))
    throw new Error('FROM requires either one or three arguments');
  const from: FromInstruction = {
    kind: 'FROM',
    line: node.startLine,
    endLine: node.endLine,
    original: node.original,
    image: args[0]!,
  };
  if (args.length === 3) {
    const name = args[2]!.toLowerCase();
    if (!STAGE_NAME_RE.test(name))
      throw new Error(
        `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`,
      );
    from.name = name;
  }
  const platform = f.strings.get('platform');
  if (platform !== undefined) from.platform = platform;
  return from;
}

/** Read a Dockerfile into stages; errors are DockerfileErrors naming the line. */
export function readDockerfile(text: string): Dockerfile {
  const parsed = parseDockerfile(text);
  const escape = parsed.directives.escape;
  const out: Dockerfile = { directives: parsed.directives, metaArgs: [], stages: [] };
  const names = new Set<string>();
  for (const node of parsed.nodes) {
    try {
      if (!KNOWN.has(node.cmd)) throw new Error(`unknown instruction: ${node.keyword}`);
      if (node.cmd === 'from') {
        const from = toFrom(node);
        if (from.name !== undefined) {
          if (names.has(from.name))
            throw new Error(`duplicate stage name ${JSON.stringify(from.name)}`);
          names.add(from.name);
        }
        out.stages.push({ index: out.stages.length, from, instructions: [] });
        continue;
      }
      const instr = toInstruction(node, escape);
      const stage = out.stages.at(-1);
      if (stage) stage.instructions.push(instr);
      else if (instr.kind === 'ARG') out.metaArgs.push(instr);
      else throw new DockerfileError('no build stage in current context', node.startLine, true);
    } catch (err) {
      if (err instanceof DockerfileError) throw err;
      throw new DockerfileError((err as Error).message, node.startLine);
    }
  }
  if (parsed.nodes.length === 0) throw new DockerfileError('file with no instructions', 1, true);
  if (out.stages.length === 0)
    throw new DockerfileError(
      'no build stage in current context',
      parsed.nodes.at(-1)!.startLine,
      true,
    );
  return out;
}
