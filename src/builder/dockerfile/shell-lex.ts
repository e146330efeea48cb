/**
 * Dockerfile variable substitution: the small shell-word lexer Docker applies to the
 * arguments of ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ARG. It is not a
 * shell: no globbing, no command substitution; quotes group and are removed, the escape
 * token escapes one character, `$v`, `${v}`, `${v:-d}`, `${v-d}`, `${v:+a}`, `${v+a}`,
 * `${v:?msg}` and `${v?msg}` substitute. Single quotes suppress expansion; inside double
 * quotes the escape token only escapes `"`, `$` and itself (others stay as written).
 */

/** The variables visible to one instruction: ENV of the stage over the ARGs in scope. */
export type Vars = ReadonlyMap<string, string>;

export class ShellLexError extends Error {}

// Shell special parameters: `$@`, `$#`... name themselves (and are normally unset).
const SPECIAL = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos] : undefined;
  }
  next(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos++] : undefined;
  }
}

/**
 * One word's pieces: `fields` is how the word splits into words on unquoted whitespace
 * (ProcessWords, for EXPOSE), `text` is the whole processed string.
 */
class Words {
  fields: string[] = [];
  cur = '';
  inWord = false;
  addChar(c: string): void {
    if (/\s/.test(c)) return this.flush();
    this.cur += c;
    this.inWord = true;
  }
  addRaw(s: string): void {
    this.cur += s;
    this.inWord = true;
  }
  /** Text from an expansion: split on its whitespace, as the shell's field splitting. */
  addExpanded(s: string): void {
    for (const c of s) this.addChar(c);
  }
  flush(): void {
    if (this.inWord) this.fields.push(this.cur);
    this.cur = '';
    this.inWord = false;
  }
  done(): string[] {
    this.flush();
    return this.fields;
  }
}

class Lexer {
  private sc: Scanner;
  /** Names looked up during processing (for the cache: which build args a step used). */
  readonly used = new Set<string>();

  constructor(
    word: string,
    private readonly vars: Vars,
    private readonly escape: string,
    /**
     * A heredoc body: quotes are ordinary characters and the escape token only escapes `$`
     * and itself, as in a shell heredoc with an unquoted delimiter.
     */
    private readonly heredoc = false,
  ) {
    this.sc = new Scanner(word);
  }

  process(): { text: string; fields: string[] } {
    const words = new Words();
    const text = this.processUntil(undefined, words);
    return { text, fields: words.done() };
  }

  private processUntil(stop: string | undefined, words: Words): string {
    let out = '';
    for (let c = this.sc.peek(); c !== undefined; c = this.sc.peek()) {
      if (stop !== undefined && c === stop) {
        this.sc.next();
        return out;
      }
      if (this.heredoc && c !== '$') {
        this.sc.next();
        const n = this.sc.peek();
        if (c === this.escape && (n === '$' || n === this.escape)) out += this.sc.next()!;
        else out += c;
      } else if (c === "'") {
        const t = this.singleQuoted();
        out += t;
        words.addRaw(t);
      } else if (c === '"') {
        const t = this.doubleQuoted();
        out += t;
        words.addRaw(t);
      } else if (c === '$') {
        const t = this.dollar();
        out += t;
        words.addExpanded(t);
      } else {
        this.sc.next();
        if (c === this.escape) {
          const e = this.sc.next();
          if (e === undefined) break; // a lone escape at the end is dropped
          out += e;
          words.addRaw(e);
        } else {
          out += c;
          words.addChar(c);
        }
      }
    }
    if (stop !== undefined)
      throw new ShellLexError(`unexpected end of statement while looking for matching ${stop}`);
    return out;
  }

  private singleQuoted(): string {
    this.sc.next();
    let out = '';
    for (;;) {
      const c = this.sc.next();
      if (c === undefined)
        throw new ShellLexError(
          'unexpected end of statement while looking for matching single-quote',
        );
      if (c === "'") return out;
      out += c;
    }
  }

  private doubleQuoted(): string {
    this.sc.next();
    let out = '';
    for (;;) {
      const c = this.sc.peek();
      if (c === undefined)
        throw new ShellLexError(
          'unexpected end of statement while looking for matching double-quote',
        );
      if (c === '"') {
        this.sc.next();
        return out;
      }
      if (c === '$') {
        out += this.dollar();
        continue;
      }
      this.sc.next();
      if (c === this.escape) {
        const n = this.sc.peek();
        if (n === undefined) continue;
        // Only these can be escaped inside double quotes; other escapes stay as written.
        if (n === '"' || n === '$' || n === this.escape) {
          out += this.sc.next()!;
          continue;
        }
      }
      out += c;
    }
  }

  private name(): string {
    let name = '';
    for (let c = this.sc.peek(); c !== undefined; c = this.sc.peek()) {
      if (name === '' && /[0-9]/.test(c)) {
        while (/[0-9]/.test(this.sc.peek() ?? '')) name += this.sc.next()!;
        return name;
      }
      if (name === '' && SPECIAL.has(c)) return this.sc.next()!;
      if (!/[\p{L}\p{N}_]/u.test(c)) break;
      name += this.sc.next()!;
    }
    return name;
  }

  private lookup(name: string): string | undefined {
    this.used.add(name);
    return this.vars.get(name);
  }

  private dollar(): string {
    this.sc.next(); // '$'
    if (this.sc.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.lookup(name) ?? '';
    }
    this.sc.next(); // '{'
    const first = this.sc.peek();
    if (first === undefined) throw new ShellLexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':')
      throw new ShellLexError('syntax error: bad substitution');
    const name = this.name();
    const op = this.sc.next();
    if (op === undefined) throw new ShellLexError("syntax error: missing '}'");
    if (op === '}') return this.lookup(name) ?? '';
    const colon = op === ':';
    const modifier = colon ? this.sc.next() : op;
    if (modifier !== '-' && modifier !== '+' && modifier !== '?') {
      if (!colon) throw new ShellLexError("missing ':' in substitution");
      throw new ShellLexError(`unsupported modifier (${modifier ?? ''}) in substitution`);
    }
    let word: string;
    try {
      word = this.processUntil('}', new Words());
    } catch (err) {
      if (this.sc.peek() === undefined) throw new ShellLexError("syntax error: missing '}'");
      throw err;
    }
    const value = this.lookup(name);
    // With a colon an empty value counts as unset; without, only an unset one does.
    const unset = colon ? !value : value === undefined;
    switch (modifier) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      default:
        if (unset)
          throw new ShellLexError(
            `${name}: ${word || (value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty')}`,
          );
        return value!;
    }
  }
}

/** One word with quotes and escapes removed and variables substituted (ProcessWord). */
export function processWord(
  word: string,
  vars: Vars,
  escape = '\\',
  used?: Set<string>,
  heredoc = false,
): string {
  const lx = new Lexer(word, vars, escape, heredoc);
  const { text } = lx.process();
  for (const n of lx.used) used?.add(n);
  return text;
}

/**
 * A word that may become several: split on unquoted whitespace, including whitespace that a
 * substitution brought in (ProcessWords, used by EXPOSE).
 */
export function processWords(
  word: string,
  vars: Vars,
  escape = '\\',
  used?: Set<string>,
): string[] {
  const lx = new Lexer(word, vars, escape);
  const { fields } = lx.process();
  for (const n of lx.used) used?.add(n);
  return fields;
}
