/**
 * Parser for the subset of Go's text/template docker users rely on: actions with pipelines,
 * fields (.A.B), variables ($, $x, $x.A), literals, function calls, parenthesised pipelines,
 * if/else if/else/end, range (with $i, $e :=)/else/end, with/else/end, comments, and the
 * `{{-` / `-}}` whitespace trimming.
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type Operand =
  | {
      kind: 'field';
      base: 'dot' | 'var' | 'expr';
      varName?: string;
      expr?: Pipeline;
      path: string[];
      /** Go's "line:col" of the node, for execution errors. */
      at: string;
    }
  | { kind: 'literal'; value: unknown }
  | { kind: 'func'; name: string; at: string }
  | { kind: 'pipe'; pipe: Pipeline };

export interface Command {
  operands: Operand[];
}

export interface Pipeline {
  decls: string[];
  /** `=` (assign to an existing variable) rather than `:=`. */
  assign: boolean;
  cmds: Command[];
}

export interface ControlNode {
  kind: 'if' | 'with' | 'range';
  pipe: Pipeline;
  list: Node[];
  elseList: Node[] | null;
}

export type Node =
  { kind: 'text'; text: string } | { kind: 'action'; pipe: Pipeline } | ControlNode;

type Tok =
  | { t: 'field'; path: string[]; at: string }
  | { t: 'var'; name: string; path: string[]; at: string }
  | { t: 'string' | 'number' | 'bool' | 'nil'; value: unknown }
  | { t: 'ident'; name: string; at: string }
  | { t: 'pipe' | 'lparen' | 'comma' | 'declare' | 'assign' }
  | { t: 'rparen'; path: string[]; at: string };

interface Action {
  toks: Tok[];
  line: number;
}

type Item = { kind: 'text'; text: string } | { kind: 'action'; action: Action };

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** Splits the template into text and tokenised actions, applying trim markers. */
function lex(src: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    let text = open < 0 ? src.slice(pos) : src.slice(pos, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    if (open < 0) {
      if (text) items.push({ kind: 'text', text });
      break;
    }
    let p = open + 2;
    if (src[p] === '-' && isSpace(src[p + 1])) {
      text = text.replace(/[ \t\r\n]+$/, '');
      p += 2;
    }
    if (text) items.push({ kind: 'text', text });
    const line = src.slice(0, open).split('\n').length;
    const { toks, end, trim } = lexAction(src, p, line);
    trimNext = trim;
    if (toks !== null) items.push({ kind: 'action', action: { toks, line } });
    pos = end;
  }
  return items;
}

function lexAction(
  src: string,
  p: number,
  line: number,
): { toks: Tok[] | null; end: number; trim: boolean } {
  const toks: Tok[] = [];
  const err = (m: string): never => {
    throw new TemplateError(`template: :${line}: ${m}`);
  };
  // Comments: {{/* ... */}} (with optional trim markers around).
  let q = p;
  while (isSpace(src[q])) q++;
  if (src.startsWith('/*', q)) {
    const close = src.indexOf('*/', q + 2);
    if (close < 0) err('unclosed comment');
    let e = close + 2;
    let trim = false;
    if (src.startsWith(' -}}', e)) {
      trim = true;
      e += 4;
    } else if (src.startsWith('}}', e)) e += 2;
    else err('comment ends before closing delimiter');
    return { toks: null, end: e, trim };
  }
  // Go's position of a node: the line, and the byte offset in it. A chain (.A.B, $x.A)
  // is placed at its second element, as Go's parser does.
  const at = (offset: number): string => {
    const nl = src.lastIndexOf('\n', offset - 1);
    return `${src.slice(0, offset).split('\n').length}:${offset - (nl + 1)}`;
  };
  let starts: number[] = [];
  const readPath = (): string[] => {
    const path: string[] = [];
    starts = [];
    while (src[p] === '.' && /[A-Za-z0-9_]/.test(src[p + 1] ?? '')) {
      starts.push(p);
      p++;
      const m = /^[A-Za-z0-9_]+/.exec(src.slice(p)) as RegExpExecArray;
      path.push(m[0]);
      p += m[0].length;
    }
    return path;
  };
  for (;;) {
    const c = src[p];
    if (c === undefined) err('unclosed action');
    if (isSpace(c)) {
      while (isSpace(src[p])) p++;
      if (src[p] === '-' && src.startsWith('-}}', p)) return { toks, end: p + 3, trim: true };
      continue;
    }
    if (src.startsWith('}}', p)) return { toks, end: p + 2, trim: false };
    if (c === '|') {
      toks.push({ t: 'pipe' });
      p++;
    } else if (c === '(') {
      toks.push({ t: 'lparen' });
      p++;
    } else if (c === ')') {
      p++;
      const path = readPath();
      toks.push({ t: 'rparen', path, at: at(starts[0] ?? p) });
    } else if (c === ',') {
      toks.push({ t: 'comma' });
      p++;
    } else if (src.startsWith(':=', p)) {
      toks.push({ t: 'declare' });
      p += 2;
    } else if (c === '=') {
      toks.push({ t: 'assign' });
      p++;
    } else if (c === '"') {
      let e = p + 1;
      while (e < src.length && src[e] !== '"') {
        if (src[e] === '\\') e++;
        if (src[e] === '\n') err('unterminated quoted string');
        e++;
      }
      if (e >= src.length) err('unterminated quoted string');
      const raw = src.slice(p, e + 1);
      let value: string;
      try {
        value = JSON.parse(
          raw.replace(/\\'/g, "'").replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1'),
        ) as string;
      } catch {
        value = err(`invalid syntax: ${raw}`);
      }
      toks.push({ t: 'string', value });
      p = e + 1;
    } else if (c === '`') {
      const e = src.indexOf('`', p + 1);
      if (e < 0) err('unterminated raw quoted string');
      toks.push({ t: 'string', value: src.slice(p + 1, e) });
      p = e + 1;
    } else if (c === "'") {
      const m = /^'(\\?.)'/u.exec(src.slice(p));
      if (!m) err('malformed character constant');
      const ch = (m as RegExpExecArray)[1] as string;
      toks.push({ t: 'number', value: (ch.length > 1 ? ch.slice(1) : ch).codePointAt(0) });
      p += (m as RegExpExecArray)[0].length;
    } else if (c === '.') {
      const start = p;
      if (/[A-Za-z0-9_]/.test(src[p + 1] ?? '')) {
        const path = readPath();
        toks.push({ t: 'field', path, at: at(starts[1] ?? start) });
      } else {
        p++;
        toks.push({ t: 'field', path: [], at: at(start) });
      }
    } else if (c === '$') {
      const start = p;
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(p)) as RegExpExecArray;
      p += m[0].length;
      const path = readPath();
      toks.push({ t: 'var', name: m[0], path, at: at(starts[0] ?? start) });
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(src.slice(p));
      if (!m) err(`unexpected "${c}" in command`);
      const s = (m as RegExpExecArray)[0];
      toks.push({ t: 'number', value: Number(s) });
      p += s.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(p)) as RegExpExecArray;
      const w = m[0];
      const start = p;
      p += w.length;
      if (w === 'true' || w === 'false') toks.push({ t: 'bool', value: w === 'true' });
      else if (w === 'nil') toks.push({ t: 'nil', value: null });
      else toks.push({ t: 'ident', name: w, at: at(start) });
    } else {
      err(`unexpected "${c}" in command`);
    }
  }
}

const KEYWORDS = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
]);

/** Parses a template into its node list. */
export function parseTemplate(src: string, funcs: ReadonlySet<string>): Node[] {
  const items = lex(src);
  let i = 0;

  const parseList = (
    stop: ReadonlySet<string>,
  ): { nodes: Node[]; stopWord: string; stopAction?: Action } => {
    const nodes: Node[] = [];
    while (i < items.length) {
      const it = items[i++] as Item;
      if (it.kind === 'text') {
        nodes.push({ kind: 'text', text: it.text });
        continue;
      }
      const a = it.action;
      const first = a.toks[0];
      const word = first?.t === 'ident' && KEYWORDS.has(first.name) ? first.name : '';
      if (word === 'end' || word === 'else') {
        if (!stop.has(word))
          throw new TemplateError(`template: :${a.line}: unexpected {{${word}}}`);
        return { nodes, stopWord: word, stopAction: a };
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(parseControl(word, a, a.toks.slice(1)));
        continue;
      }
      if (word !== '') {
        throw new TemplateError(`template: :${a.line}: {{${word}}} is not supported`);
      }
      if (a.toks.length === 0)
        throw new TemplateError(`template: :${a.line}: missing value for command`);
      nodes.push({ kind: 'action', pipe: parsePipeline(a.toks, a.line, funcs, true) });
    }
    if (stop.size > 0) throw new TemplateError('template: :1: unexpected EOF');
    return { nodes, stopWord: '' };
  };

  const parseControl = (word: 'if' | 'with' | 'range', a: Action, toks: Tok[]): Node => {
    if (toks.length === 0)
      throw new TemplateError(`template: :${a.line}: missing value for ${word}`);
    const pipe = parsePipeline(toks, a.line, funcs, true);
    const body = parseList(new Set(['end', 'else']));
    let elseList: Node[] | null = null;
    if (body.stopWord === 'else') {
      const rest = (body.stopAction as Action).toks.slice(1);
      if (rest.length > 0) {
        // {{else if ...}} / {{else with ...}}: a nested control sharing our {{end}}.
        const w = rest[0];
        if (w?.t !== 'ident' || (w.name !== 'if' && w.name !== 'with')) {
          throw new TemplateError(`template: :${a.line}: unexpected tokens after else`);
        }
        elseList = [parseControl(w.name, body.stopAction as Action, rest.slice(1))];
        return { kind: word, pipe, list: body.nodes, elseList };
      }
      const tail = parseList(new Set(['end']));
      elseList = tail.nodes;
    }
    return { kind: word, pipe, list: body.nodes, elseList };
  };

  return parseList(new Set()).nodes;
}

function parsePipeline(
  toks: Tok[],
  line: number,
  funcs: ReadonlySet<string>,
  allowDecl: boolean,
): Pipeline {
  const err = (m: string): never => {
    throw new TemplateError(`template: :${line}: ${m}`);
  };
  let pos = 0;
  const decls: string[] = [];
  let assign = false;
  // Declarations: $x := ..., $i, $e := ..., $x = ...
  if (allowDecl && toks[0]?.t === 'var' && toks[0].path.length === 0) {
    let j = 0;
    const names: string[] = [];
    while (toks[j]?.t === 'var') {
      names.push((toks[j] as { name: string }).name);
      j++;
      if (toks[j]?.t === 'comma') j++;
      else break;
    }
    const op = toks[j];
    if (op?.t === 'declare' || op?.t === 'assign') {
      decls.push(...names);
      assign = op.t === 'assign';
      pos = j + 1;
    }
  }
  const parseOperands = (closing: boolean): { cmds: Command[] } => {
    const cmds: Command[] = [];
    let operands: Operand[] = [];
    for (;;) {
      const tok = toks[pos];
      if (tok === undefined || (closing && tok.t === 'rparen')) break;
      pos++;
      switch (tok.t) {
        case 'pipe':
          if (operands.length === 0) err('missing command before |');
          cmds.push({ operands });
          operands = [];
          break;
        case 'field':
          operands.push({ kind: 'field', base: 'dot', path: tok.path, at: tok.at });
          break;
        case 'var':
          operands.push({
            kind: 'field',
            base: 'var',
            varName: tok.name,
            path: tok.path,
            at: tok.at,
          });
          break;
        case 'string':
        case 'number':
        case 'bool':
        case 'nil':
          operands.push({ kind: 'literal', value: tok.value });
          break;
        case 'ident':
          if (!funcs.has(tok.name)) err(`function "${tok.name}" not defined`);
          operands.push({ kind: 'func', name: tok.name, at: tok.at });
          break;
        case 'lparen': {
          const inner = parseOperands(true);
          const close = toks[pos];
          if (close?.t !== 'rparen') err('unclosed left paren');
          pos++;
          const pipe: Pipeline = { decls: [], assign: false, cmds: inner.cmds };
          const { path, at } = close as { path: string[]; at: string };
          operands.push(
            path.length > 0
              ? { kind: 'field', base: 'expr', expr: pipe, path, at }
              : { kind: 'pipe', pipe },
          );
          break;
        }
        default:
          err(`unexpected ${tok.t} in operand`);
      }
    }
    if (operands.length === 0)
      err(cmds.length > 0 ? 'missing command after |' : 'missing value for command');
    cmds.push({ operands });
    return { cmds };
  };
  const { cmds } = parseOperands(false);
  if (pos < toks.length) err('unexpected ")" in operand');
  return { decls, assign, cmds };
}
