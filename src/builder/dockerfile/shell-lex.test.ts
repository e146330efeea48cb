import { describe, expect, it } from 'vitest';

import { processWord, processWords } from './shell-lex.js';

const vars = new Map([
  ['a', 'A'],
  ['b', 'B C'],
  ['empty', ''],
  ['PATH', '/usr/bin'],
  ['ünï', 'u'],
]);

describe('processWord', () => {
  it.each([
    ['plain', 'plain'],
    ['$a', 'A'],
    ['${a}', 'A'],
    ['x$a.y', 'xA.y'],
    ['$ax', ''], // the name is `ax`
    ['${a}x', 'Ax'],
    ['$nope', ''],
    ['${nope:-d}', 'd'],
    ['${empty:-d}', 'd'],
    ['${empty-d}', ''],
    ['${nope-d}', 'd'],
    ['${a:-d}', 'A'],
    ['${a:+alt}', 'alt'],
    ['${empty:+alt}', ''],
    ['${empty+alt}', 'alt'],
    ['${nope+alt}', ''],
    ['${nope:-$a}', 'A'],
    ['${nope:-${a:+x$a}}', 'xA'],
    ['${nope:-a b}', 'a b'],
    ['\\$a', '$a'],
    ['\\${a}', '${a}'],
    ["'$a'", '$a'],
    ['"$a"', 'A'],
    ['"\\$a"', '$a'],
    ['"a\\nb"', 'a\\nb'], // other escapes stay inside double quotes
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', 'a\\b'],
    ['a\\ b', 'a b'],
    ['a\\\\b', 'a\\b'],
    ["'a\\b'", 'a\\b'],
    ['"it\'s"', "it's"],
    ['\'say "hi"\'', 'say "hi"'],
    ['$', '$'],
    ['a$', 'a$'],
    ['$1', ''],
    ['$$', ''],
    ['${PATH}:/bin', '/usr/bin:/bin'],
    ['$ünï', 'u'],
    ['trailing\\', 'trailing'],
    ['${a:?must}', 'A'],
    ['"${b}"', 'B C'],
  ])('%s → %s', (input, want) => {
    expect(processWord(input, vars)).toBe(want);
  });

  it.each([
    ["'open", 'unexpected end of statement while looking for matching single-quote'],
    ['"open', 'unexpected end of statement while looking for matching double-quote'],
    ['${a', "syntax error: missing '}'"],
    ['${a:-x', "syntax error: missing '}'"],
    ['${}', 'syntax error: bad substitution'],
    ['${:-x}', 'syntax error: bad substitution'],
    ['${a:x}', 'unsupported modifier (x) in substitution'],
    ['${a#x}', "missing ':' in substitution"],
    ['${nope:?}', 'nope: is not allowed to be unset'],
    ['${empty:?}', 'empty: is not allowed to be empty'],
    ['${nope?gone}', 'nope: gone'],
  ])('%s fails: %s', (input, msg) => {
    expect(() => processWord(input, vars)).toThrow(msg);
  });

  it('uses the backtick as escape token when asked', () => {
    expect(processWord('a`$b', vars, '`')).toBe('a$b');
    expect(processWord('C:\\dir\\$a', vars, '`')).toBe('C:\\dir\\A');
  });

  it('records the names it looked up', () => {
    const used = new Set<string>();
    processWord('$a ${nope:-$b} \\$c', vars, '\\', used);
    expect([...used].sort()).toEqual(['a', 'b', 'nope']);
  });
});

describe('processWords', () => {
  it.each([
    ['80 443', ['80', '443']],
    ['$b', ['B', 'C']],
    ['"$b"', ['B C']],
    ['x${b}y', ['xB', 'Cy']],
    ["'a b' c", ['a b', 'c']],
    ['', []],
  ])('%s → %j', (input, want) => {
    expect(processWords(input, vars)).toEqual(want);
  });
});

describe('heredoc bodies', () => {
  it('substitute variables only: quotes stay, \\$ escapes', () => {
    const body = `it's "$a" '\${b}' \\$a \\\\ \\n\n`;
    expect(processWord(body, vars, '\\', undefined, true)).toBe(`it's "A" 'B C' $a \\ \\n\n`);
  });
});
