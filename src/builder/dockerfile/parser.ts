/**
 * Dockerfile text → logical lines ("nodes"), as BuildKit's frontend parser reads it: parser
 * directives at the top, comments, line continuations (comment and blank lines inside a
 * continuation are skipped), leading flags (`--name=value`) and heredoc bodies. What the
 * arguments of each instruction mean is instructions.ts's job.
 */
import { DockerfileError } from './errors.js';

export interface Directives {
  /** The escape token: `\` unless `# escape=` says `` ` ``. */
  escape: string;
  syntax?: string;
  check?: string;
}

export interface Heredoc {
  /** The delimiter word with its quotes removed. */
  name: string;
  /** The body, each line ending in "\n" (leading tabs are still there with `<<-`). */
  content: string;
  /** Unquoted delimiter: variables in the body are expanded (COPY/ADD). */
  expand: boolean;
  /** `<<-`: leading tabs are removed from the body lines. */
  chomp: boolean;
  /** The fd of `3<<EOF` (0 when none). */
  fd: number;
}

export interface Node {
  /** The instruction keyword in lowercase (`run`); unknown ones are kept for the error. */
  cmd: string;
  /** The keyword as written. */
  keyword: string;
  /** `--name=value` / `--name` words before the arguments, quotes removed. */
  flags: string[];
  /** The text after keyword and flags (leading and trailing whitespace trimmed). */
  rest: string;
  /** The whole logical line (continuations joined, comments dropped). */
  original: string;
  heredocs: Heredoc[];
  startLine: number;
  endLine: number;
}

export interface ParsedDockerfile {
  directives: Directives;
  nodes: Node[];
}

const DIRECTIVE_RE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;

const trimLeft = (s: string): string => s.replace(/^[ \t\r\n\f\v]+/, '');
const isComment = (s: string): boolean => trimLeft(s).startsWith('#');

/** Remove a trailing escape token (and whitespace after it): the line continues. */
function trimContinuation(line: string, escape: string): { text: string; continues: boolean } {
  const re = escape === '`' ? /`[ \t]*$/ : /\\[ \t]*$/;
  const m = re.exec(line);
  if (!m) return { text: line, continues: false };
  return { text: line.slice(0, m.index), continues: true };
}

/**
 * Split on unquoted whitespace keeping quotes and escapes in the words (BuildKit's
 * parseWords, used for ENV, LABEL and ARG, and to spot heredoc markers).
 */
export function splitWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  let blankOk = false;
  const chars = [...rest];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (!inWord) {
      if (/\s/.test(c)) continue;
      inWord = true;
    }
    if (quote === '') {
      if (/\s/.test(c)) {
        if (blankOk || word.length > 0) words.push(word);
        word = '';
        blankOk = false;
        inWord = false;
        continue;
      }
      if (c === "'" || c === '"') {
        quote = c;
        blankOk = true;
      }
      if (c === escape) {
        if (i + 1 === chars.length) continue; // an escape at the very end is dropped
        word += c;
        word += chars[++i]!;
        continue;
      }
      word += c;
      continue;
    }
    if (c === quote) quote = '';
    if (c === escape && quote !== "'" && quote !== '') {
      if (i + 1 === chars.length) continue;
      word += c;
      word += chars[++i]!;
      continue;
    }
    word += c;
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word);
  return words;
}

/**
 * Leading `--flag` words of an instruction's arguments (BuildKit's extractBuilderFlags):
 * quotes are removed, `\` escapes one character, `--` alone ends the flags.
 */
export function extractFlags(line: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && /\s/.test(line[pos]!)) pos++;
    if (pos >= line.length) return { flags, rest: '' };
    if (!line.startsWith('--', pos) || pos + 2 > line.length)
      return { flags, rest: line.slice(pos) };
    let word = '';
    let quote = '';
    let blankOk = false;
    for (; pos < line.length; pos++) {
      const c = line[pos]!;
      if (quote === '') {
        if (/\s/.test(c)) break;
        if (c === '"' || c === "'") {
          quote = c;
          blankOk = true;
          continue;
        }
      } else if (c === quote) {
        quote = '';
        continue;
      }
      if (c === '\\') {
        if (pos + 1 === line.length) continue;
        word += line[++pos]!;
        continue;
      }
      word += c;
    }
    if (word === '--') return { flags, rest: line.slice(pos).trim() };
    if (blankOk || word.length > 0) flags.push(word);
  }
}

function heredocMarker(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m || m[3] === '') return undefined;
  const raw = m[3]!;
  // The delimiter without its quotes; any quote in it disables expansion of the body.
  const name = raw.replace(/\\(.)/g, '$1').replace(/["']/g, '');
  if (name === '') return undefined;
  return { name, expand: !/["'\\]/.test(raw), chomp: m[2] === '-', fd: Number(m[1] || 0) };
}

function parseDirectives(lines: string[]): { directives: Directives; consumed: number } {
  const directives: Directives = { escape: '\\' };
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break; // an unknown directive is a comment, and ends them
    if (seen.has(key))
      throw new DockerfileError(`only one ${key} parser directive can be used`, i + 1, true);
    seen.add(key);
    const value = m[2]!;
    if (key === 'escape') {
      if (value !== '`' && value !== '\\')
        throw new DockerfileError(
          `invalid escape token '${value}' does not match \` or \\`,
          i + 1,
          true,
        );
      directives.escape = value;
    } else if (key === 'syntax') directives.syntax = value;
    else directives.check = value;
  }
  return { directives, consumed: i };
}

/** Parse Dockerfile text into directives and logical lines. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 0 && lines.at(-1) === '') lines.pop();
  const { directives } = parseDirectives(lines);
  const escape = directives.escape;
  const nodes: Node[] = [];
  let i = 0;
  const next = (): string | undefined => (i < lines.length ? lines[i++] : undefined);
  for (let raw = next(); raw !== undefined; raw = next()) {
    const startLine = i;
    if (isComment(raw)) continue;
    const first = trimContinuation(trimLeft(raw), escape);
    let line = first.text;
    let continues = first.continues;
    if (!continues && line.trim() === '') continue;
    while (continues) {
      const more = next();
      if (more === undefined) break;
      if (isComment(more)) continue;
      if (trimLeft(more) === '') continue; // an empty continuation line (Docker warns)
      const t = trimContinuation(more, escape);
      line += t.text;
      continues = t.continues;
    }
    if (line.trim() === '') continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line.trim())!;
    const keyword = m[1]!;
    const cmd = keyword.toLowerCase();
    const { flags, rest } = extractFlags(m[2]!);
    const node: Node = {
      cmd,
      keyword,
      flags,
      rest: rest.trim(),
      original: line.trim(),
      heredocs: [],
      startLine,
      endLine: i,
    };
    if (HEREDOC_INSTRUCTIONS.has(cmd) && line.includes('<<')) {
      for (const word of splitWords(rest, escape)) {
        const marker = heredocMarker(word);
        if (!marker) continue;
        let content = '';
        let terminated = false;
        for (let body = next(); body !== undefined; body = next()) {
          const candidate = marker.chomp ? body.replace(/^\t+/, '') : body;
          if (candidate === marker.name) {
            terminated = true;
            break;
          }
          content += `${body}\n`;
        }
        if (!terminated) throw new DockerfileError('unterminated heredoc', startLine);
        node.heredocs.push({ ...marker, content });
      }
      node.endLine = i;
    }
    nodes.push(node);
  }
  return { directives, nodes };
}

/** A heredoc body with the leading tabs of `<<-` removed. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}
