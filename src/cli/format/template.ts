/**
 * Executes parsed Go templates against JSON-like data, with docker's template functions
 * (json, join, split, lower, upper, title, pad, truncate) and Go's builtins (printf, print,
 * println, index, len, eq/ne/lt/le/gt/ge, and/or/not, slice).
 */
import {
  formatValue,
  NO_VALUE,
  sprint,
  sprintf,
  sprintln,
  STRUCT_NAME,
  typeName,
} from './go-print.js';
import {
  parseTemplate,
  TemplateError,
  type Command,
  type ControlNode,
  type Node,
  type Operand,
  type Pipeline,
} from './template-parse.js';

export { TemplateError };

type Fn = (...args: unknown[]) => unknown;

const MISSING = Symbol('missing');

function isTrue(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') {
    if ((v as Record<symbol, unknown>)[STRUCT_NAME] !== undefined) return true;
    return Object.keys(v).length > 0;
  }
  return true;
}

function goTitle(s: string): string {
  return s.replace(
    /(^|[^\p{L}\p{N}_'])(\p{L})/gu,
    (_m, pre: string, ch: string) => pre + ch.toUpperCase(),
  );
}

function cmp(a: unknown, b: unknown, op: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`error calling ${op}: incompatible types for comparison`);
}

function isStringMap(map: Record<string, unknown>): boolean {
  return Object.values(map).every((x) => typeof x === 'string');
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (v === null || v === undefined) throw new Error('error calling index: index of untyped nil');
    if (Array.isArray(v) || typeof v === 'string') {
      const n = Number(k);
      if (!Number.isInteger(n) || n < 0 || n >= v.length) {
        throw new Error(`error calling index: index out of range: ${formatValue(k)}`);
      }
      v = typeof v === 'string' ? v.charCodeAt(n) : v[n];
    } else if (typeof v === 'object') {
      const map = v as Record<string, unknown>;
      // Go's index of a missing key is the element type's zero value: "" for the string maps
      // (labels, options) docker's structs hold.
      v = String(k) in map ? map[String(k)] : isStringMap(map) ? '' : undefined;
    } else {
      throw new Error(`error calling index: can't index item of type ${typeName(v)}`);
    }
  }
  return v;
}

/** docker's template functions plus Go's builtins. */
export const FUNCS: Record<string, Fn> = {
  json: (v) => (v === undefined ? 'null' : JSON.stringify(v)),
  join: (list, sep) =>
    Array.isArray(list) ? list.map((x) => formatValue(x, false)).join(String(sep)) : '',
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  title: (s) => goTitle(String(s)),
  pad: (s, before, after) => ' '.repeat(Number(before)) + String(s) + ' '.repeat(Number(after)),
  truncate: (s, n) => {
    const chars = [...String(s)];
    return chars.length > Number(n) ? chars.slice(0, Number(n)).join('') : String(s);
  },
  printf: (fmt, ...args) => sprintf(String(fmt), args),
  print: (...args) => sprint(args),
  println: (...args) => sprintln(args),
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v))
      return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new Error(`error calling len: len of type ${typeName(v)}`);
  },
  index: (item, ...keys) => index(item, ...keys),
  slice: (item, ...idx) => {
    if (typeof item !== 'string' && !Array.isArray(item))
      throw new Error('error calling slice: cannot slice');
    const [a, b] = idx.map(Number);
    return item.slice(a ?? 0, b);
  },
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new Error('error calling eq: missing argument for comparison');
    return bs.some((b) => a === b);
  },
  ne: (a, b) => a !== b,
  lt: (a, b) => cmp(a, b, 'lt') < 0,
  le: (a, b) => cmp(a, b, 'le') <= 0,
  gt: (a, b) => cmp(a, b, 'gt') > 0,
  ge: (a, b) => cmp(a, b, 'ge') >= 0,
  not: (v) => !isTrue(v),
  // and/or are evaluated lazily in evalCommand; these are fallbacks for pipelines.
  and: (...args) => args.find((a) => !isTrue(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => isTrue(a)) ?? args[args.length - 1],
  urlquery: (...args) => encodeURIComponent(sprint(args)),
};

/**
 * docker's header functions: while rendering a table header the data functions return their
 * argument unchanged, so `{{.ID | lower}}` still prints "CONTAINER ID".
 */
export const HEADER_FUNCS: Record<string, Fn> = {
  ...FUNCS,
  json: (v) => v,
  join: (v) => v,
  split: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  title: (v) => v,
  pad: (v) => v,
  truncate: (v) => v,
};

interface Scope {
  vars: Array<[string, unknown]>;
}

export class Template {
  private readonly nodes: Node[];
  /**
   * Go's Option("missingkey=error"): a missing map key is an error, not "<no value>", unless
   * this returns the value to use (docker's typed structs: an omitted field is a zero value).
   */
  private missingKey: MissingKey | undefined;

  constructor(
    readonly source: string,
    private readonly funcs: Record<string, Fn> = FUNCS,
  ) {
    this.nodes = parseTemplate(source, new Set(Object.keys(FUNCS)));
  }

  /** A copy running with other functions (the header functions). */
  withFuncs(funcs: Record<string, Fn>): Template {
    const t = Object.create(Template.prototype) as Template;
    Object.assign(t, this, { funcs });
    return t;
  }

  /**
   * A copy with Go's Option("missingkey=error") (docker inspect's templates); `zero` gives
   * the value of keys the JSON may omit, by their dotted path ("State.Health").
   */
  withMissingKeyError(zero: MissingKey = () => undefined): Template {
    const t = Object.create(Template.prototype) as Template;
    Object.assign(t, this, { missingKey: zero });
    return t;
  }

  execute(data: unknown): string {
    const scope: Scope = { vars: [['$', data]] };
    const out: string[] = [];
    try {
      this.walk(this.nodes, data, scope, out);
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      if (err instanceof ExecError)
        throw new TemplateError(`template: :1: executing "" ${err.message}`);
      throw new TemplateError(`template: :1: executing "" ${(err as Error).message}`);
    }
    return out.join('');
  }

  private walk(nodes: readonly Node[], dot: unknown, scope: Scope, out: string[]): void {
    for (const n of nodes) {
      switch (n.kind) {
        case 'text':
          out.push(n.text);
          break;
        case 'action': {
          const v = this.evalPipeline(n.pipe, dot, scope);
          if (n.pipe.decls.length === 0) out.push(formatValue(v));
          break;
        }
        case 'if':
        case 'with': {
          const mark = scope.vars.length;
          const v = this.evalPipeline(n.pipe, dot, scope);
          if (isTrue(v)) this.walk(n.list, n.kind === 'with' ? v : dot, scope, out);
          else if (n.elseList) this.walk(n.elseList, dot, scope, out);
          scope.vars.length = mark;
          break;
        }
        case 'range':
          this.walkRange(n, dot, scope, out);
          break;
      }
    }
  }

  private walkRange(n: ControlNode, dot: unknown, scope: Scope, out: string[]): void {
    const mark = scope.vars.length;
    const pipe: Pipeline = { ...n.pipe, decls: [] };
    const v = this.evalPipeline(pipe, dot, scope);
    let entries: Array<[unknown, unknown]>;
    if (v === null || v === undefined) entries = [];
    else if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      entries = Object.keys(obj)
        .sort()
        .map((k) => [k, obj[k]]);
    } else if (typeof v === 'number' && Number.isInteger(v)) {
      entries = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
    } else {
      throw new Error(`range can't iterate over ${formatValue(v)}`);
    }
    if (entries.length === 0) {
      if (n.elseList) this.walk(n.elseList, dot, scope, out);
      return;
    }
    const decls = n.pipe.decls;
    for (const [k, e] of entries) {
      scope.vars.length = mark;
      if (decls.length === 1) scope.vars.push([decls[0] as string, e]);
      else if (decls.length >= 2) {
        scope.vars.push([decls[0] as string, k]);
        scope.vars.push([decls[1] as string, e]);
      }
      this.walk(n.list, e, scope, out);
    }
    scope.vars.length = mark;
  }

  private lookupVar(scope: Scope, name: string): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) {
      const [k, v] = scope.vars[i] as [string, unknown];
      if (k === name) return v;
    }
    throw new TemplateError(`template: :1: undefined variable: ${name}`);
  }

  private evalPipeline(pipe: Pipeline, dot: unknown, scope: Scope): unknown {
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(cmd, dot, scope, value);
    if (pipe.decls.length > 0) {
      const name = pipe.decls[0] as string;
      if (pipe.assign) {
        const i = scope.vars.map((e) => e[0]).lastIndexOf(name);
        if (i < 0) throw new TemplateError(`template: :1: undefined variable: ${name}`);
        (scope.vars[i] as [string, unknown])[1] = value;
      } else {
        scope.vars.push([name, value]);
      }
    }
    return value;
  }

  private evalCommand(cmd: Command, dot: unknown, scope: Scope, piped: unknown): unknown {
    const [first, ...rest] = cmd.operands as [Operand, ...Operand[]];
    const hasPiped = piped !== MISSING;
    if (first.kind === 'func') {
      const fn = this.funcs[first.name] as Fn;
      if (first.name === 'and' || first.name === 'or') {
        // Short-circuit, as Go 1.18+.
        const ops = rest.map((o) => () => this.evalOperand(o, dot, scope));
        if (hasPiped) ops.push(() => piped);
        let last: unknown;
        for (const op of ops) {
          last = op();
          if (first.name === 'and' ? !isTrue(last) : isTrue(last)) return last;
        }
        return last;
      }
      const args = rest.map((o) => this.evalOperand(o, dot, scope));
      if (hasPiped) args.push(piped);
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof TemplateError) throw err;
        const msg = (err as Error).message;
        throw new TemplateError(
          `template: :${first.at}: executing "" at <${first.name}>: ${msg.startsWith('error calling') ? msg : `error calling ${first.name}: ${msg}`}`,
        );
      }
    }
    if (first.kind === 'field' && (rest.length > 0 || hasPiped)) {
      // A method call: `.Label "key"`.
      const target = this.evalOperand(first, dot, scope, true);
      if (typeof target !== 'function') {
        throw new TemplateError(
          `template: :${first.at}: executing "" at <.${first.path.join('.')}>: can't give argument to non-function .${first.path.join('.')}`,
        );
      }
      const args = rest.map((o) => this.evalOperand(o, dot, scope));
      if (hasPiped) args.push(piped);
      return (target as Fn)(...args);
    }
    if (rest.length > 0 || hasPiped) {
      throw new TemplateError(
        `template: :1: can't give argument to non-function ${describe(first)}`,
      );
    }
    return this.evalOperand(first, dot, scope);
  }

  private evalOperand(op: Operand, dot: unknown, scope: Scope, wantFn = false): unknown {
    switch (op.kind) {
      case 'literal':
        return op.value;
      case 'func': {
        // A function used as an argument is called without arguments.
        return (this.funcs[op.name] as Fn)();
      }
      case 'pipe':
        return this.evalPipeline(op.pipe, dot, scope);
      case 'field': {
        let v: unknown =
          op.base === 'dot'
            ? dot
            : op.base === 'var'
              ? this.lookupVar(scope, op.varName as string)
              : this.evalPipeline(op.expr as Pipeline, dot, scope);
        try {
          op.path.forEach((name, i) => {
            v = field(v, name, op.path.slice(0, i + 1).join('.'), this.missingKey);
            if (typeof v === 'function' && !(wantFn && i === op.path.length - 1)) v = (v as Fn)();
          });
        } catch (err) {
          if (err instanceof ExecError) {
            throw new TemplateError(`template: :${op.at}: executing "" ${err.message}`);
          }
          throw err;
        }
        return v;
      }
    }
  }
}

/** An execution error's detail ("at <.A>: ..."); the caller adds where it happened. */
class ExecError extends Error {}

/**
 * The Go value of a key the JSON lacks (`present` false: undefined makes it an error) or
 * holds as null (`present` true: undefined keeps nil), as `{ value }`.
 */
export type MissingKey = (path: string, present: boolean) => { value: unknown } | undefined;

function field(
  v: unknown,
  name: string,
  pathForError: string,
  missingKey: MissingKey | undefined,
): unknown {
  if (v === null || v === undefined) {
    throw new ExecError(`at <.${pathForError}>: nil pointer evaluating interface {}.${name}`);
  }
  if (typeof v !== 'object') {
    throw new ExecError(
      `at <.${pathForError}>: can't evaluate field ${name} in type ${typeName(v)}`,
    );
  }
  const rec = v as Record<string | symbol, unknown>;
  if (!(name in rec)) {
    const structName = rec[STRUCT_NAME];
    if (typeof structName === 'string') {
      throw new ExecError(
        `at <.${pathForError}>: can't evaluate field ${name} in type ${structName}`,
      );
    }
    if (!missingKey) return undefined;
    const zero = missingKey(pathForError, false);
    if (zero) return zero.value;
    throw new ExecError(`at <.${pathForError}>: map has no entry for key "${name}"`);
  }
  const value = rec[name];
  if (value === null && missingKey) return (missingKey(pathForError, true) ?? { value }).value;
  return value;
}

function describe(op: Operand): string {
  if (op.kind === 'literal') return formatValue(op.value);
  if (op.kind === 'field') return `.${op.path.join('.')}`;
  return '(pipeline)';
}

export { NO_VALUE };
