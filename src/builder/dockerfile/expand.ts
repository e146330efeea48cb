/**
 * Variable substitution in exactly the instructions Docker applies it to: ADD, COPY (sources,
 * destination, --chown, --chmod, --from), ENV and LABEL (names and values), EXPOSE (a value
 * may become several ports), VOLUME, USER, WORKDIR, STOPSIGNAL, and ARG defaults. RUN, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER and ONBUILD keep their text: the shell, or a
 * later build, expands those.
 */
import { DockerfileError } from './errors.js';
import type { Instruction } from './instructions.js';
import { processWord, processWords, type Vars } from './shell-lex.js';

export interface ExpandContext {
  vars: Vars;
  escape: string;
  /** Receives the names looked up (the build args a step depends on, for the cache). */
  used?: Set<string>;
}

/** One word substituted; lexer errors name the instruction's line. */
export function expandWord(word: string, ctx: ExpandContext, line: number): string {
  try {
    return processWord(word, ctx.vars, ctx.escape, ctx.used);
  } catch (err) {
    throw new DockerfileError((err as Error).message, line);
  }
}

/** A copy of `instr` with its substitutable words substituted. */
export function expandInstruction<T extends Instruction>(instr: T, ctx: ExpandContext): T {
  const w = (s: string): string => expandWord(s, ctx, instr.line);
  const i = instr as Instruction;
  switch (i.kind) {
    case 'ENV':
    case 'LABEL':
      return { ...i, pairs: i.pairs.map((p) => ({ key: w(p.key), value: w(p.value) })) } as T;
    case 'ARG':
      return {
        ...i,
        args: i.args.map((a) => (a.value === undefined ? a : { key: a.key, value: w(a.value) })),
      } as T;
    case 'EXPOSE':
      return {
        ...i,
        ports: i.ports.flatMap((p) => {
          try {
            return processWords(p, ctx.vars, ctx.escape, ctx.used);
          } catch (err) {
            throw new DockerfileError((err as Error).message, i.line);
          }
        }),
      } as T;
    case 'VOLUME':
      return { ...i, paths: i.paths.map(w) } as T;
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
      return { ...i, value: w(i.value) } as T;
    case 'COPY':
    case 'ADD':
      return {
        ...i,
        sources: i.sources.map(w),
        dest: w(i.dest),
        ...(i.from !== undefined ? { from: w(i.from) } : {}),
        ...(i.chown !== undefined ? { chown: w(i.chown) } : {}),
        ...(i.chmod !== undefined ? { chmod: w(i.chmod) } : {}),
      } as T;
    default:
      return instr;
  }
}
