/**
 * ARG scoping, as Docker's: ARGs before the first FROM ("meta args") are visible to FROM lines
 * only; inside a stage an ARG is visible from its declaration to the stage's end, takes the
 * `--build-arg` value if one was given, else its default, and `ARG name` without a default
 * takes the meta arg's value. The proxy args are predefined: usable in RUN without a
 * declaration, and kept out of the image's history unless declared.
 */
import { expandInstruction, type Vars } from './dockerfile/index.js';
import type { Dockerfile } from './dockerfile/index.js';

export const PROXY_ARGS = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

/** The values of the meta args, for expanding FROM lines and for `ARG name` in a stage. */
export function metaArgValues(
  df: Dockerfile,
  buildArgs: ReadonlyMap<string, string | null>,
  consumed: Set<string>,
  /** Args defined before any ARG (BuildKit's platform args); a build arg overrides them. */
  predefined: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const values = new Map<string, string>();
  for (const [k, v] of predefined) {
    const given = buildArgs.get(k);
    values.set(k, given ?? v);
    if (given !== undefined) consumed.add(k);
  }
  for (const instr of df.metaArgs) {
    const expanded = expandInstruction(instr, { vars: values, escape: df.directives.escape });
    for (const a of expanded.args) {
      const given = buildArgs.get(a.key);
      consumed.add(a.key);
      if (given !== undefined && given !== null) values.set(a.key, given);
      else if (a.value !== undefined) values.set(a.key, a.value);
    }
  }
  return values;
}

/** The ARGs a stage has declared so far, with their values. */
export class StageArgs {
  /** Declared names in declaration order, with a value when one is known. */
  private readonly declared = new Map<string, string | undefined>();

  constructor(
    private readonly buildArgs: ReadonlyMap<string, string | null>,
    private readonly meta: ReadonlyMap<string, string>,
    private readonly consumed: Set<string>,
  ) {}

  /** Declare `ARG key[=default]` (the default already expanded). */
  declare(key: string, dflt: string | undefined): void {
    this.consumed.add(key);
    const given = this.buildArgs.get(key);
    if (given !== undefined && given !== null) this.declared.set(key, given);
    else if (dflt !== undefined) this.declared.set(key, dflt);
    else this.declared.set(key, this.meta.get(key));
  }

  /** Variables for substitution: the declared args with values, under the stage's ENV. */
  vars(env: readonly string[]): Vars {
    const out = new Map<string, string>();
    for (const [k, v] of this.declared) if (v !== undefined) out.set(k, v);
    for (const e of env) {
      const eq = e.indexOf('=');
      if (eq > 0) out.set(e.slice(0, eq), e.slice(eq + 1));
    }
    return out;
  }

  /**
   * `KEY=value` for a RUN's environment: declared args with values that ENV does not set,
   * plus proxy args given on the command line. Sorted, as Docker's history line is.
   */
  runEnv(env: readonly string[]): string[] {
    const envKeys = new Set(env.map((e) => e.slice(0, e.indexOf('='))));
    const out = new Map<string, string>();
    for (const [k, v] of this.declared) if (v !== undefined && !envKeys.has(k)) out.set(k, v);
    for (const k of PROXY_ARGS) {
      const v = this.buildArgs.get(k);
      if (v !== undefined && v !== null && !out.has(k) && !envKeys.has(k)) out.set(k, v);
    }
    return [...out].map(([k, v]) => `${k}=${v}`).sort();
  }

  /** The args in runEnv that belong in history (proxy args only when declared). */
  historyArgs(env: readonly string[]): string[] {
    return this.runEnv(env).filter((kv) => {
      const k = kv.slice(0, kv.indexOf('='));
      return !PROXY_ARGS.has(k) || this.declared.has(k);
    });
  }
}

/** Build args given but never declared, for Docker's warning (proxy args never count). */
export function unconsumedArgs(
  buildArgs: ReadonlyMap<string, string | null>,
  consumed: ReadonlySet<string>,
): string[] {
  return [...buildArgs.keys()].filter((k) => !consumed.has(k) && !PROXY_ARGS.has(k)).sort();
}
