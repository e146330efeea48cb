import { describe, expect, it } from 'vitest';

import { DockerIgnore, readDockerignore } from './dockerignore.js';

describe('readDockerignore', () => {
  it('drops comments and blanks, trims, cleans, strips a leading slash, keeps !', () => {
    const text =
      '\uFEFF# comment\n\n  *.log  \n/abs/x\n! keep.log \n./a/../b/\n #not a comment\n!/root\n/\n';
    expect(readDockerignore(text)).toEqual([
      '*.log',
      'abs/x',
      '!keep.log',
      'b',
      '#not a comment',
      '!root',
      '/',
    ]);
  });
});

describe('DockerIgnore.excludes', () => {
  const cases: Array<[string, string[], string[]]> = [
    // [patterns, excluded, kept]
    ['*.md', ['README.md', 'a.md'], ['docs/a.md', 'md', 'a.mdx']],
    ['*/*.md', ['docs/a.md'], ['a.md', 'docs/x/a.md']],
    ['**/*.md', ['a.md', 'docs/a.md', 'docs/x/a.md'], ['a.mdx']],
    ['docs/**', ['docs/a', 'docs/x/y'], ['docs', 'docsx/a']],
    ['**', ['a', 'b/c'], []],
    ['a/**/b', ['a/b', 'a/x/b', 'a/x/y/b', 'a/b/c'], ['a/xb', 'b']],
    ['node_modules', ['node_modules', 'node_modules/x/y.js'], ['src/node_modules']],
    ['/build', ['build', 'build/out'], ['src/build']],
    ['temp?', ['temp1', 'tempa'], ['temp', 'temp12', 'temp/']],
    ['[a-c].txt', ['a.txt', 'c.txt'], ['d.txt']],
    ['file\\*', ['file*'], ['filex']],
    ['a.b', ['a.b'], ['axb']],
    ['*\n!keep\n!dir/in', ['x', 'dir', 'dir/out'], ['keep', 'dir/in']],
    ['*.log\n!important.log\nimportant.log', ['a.log', 'important.log'], []],
    ['dir\n!dir/keep', ['dir', 'dir/x'], ['dir/keep', 'dir/keep/deeper']],
    ['!x', [], ['x', 'y']],
    [
      '.git\n.dockerignore\nDockerfile',
      ['.git/HEAD', '.dockerignore', 'Dockerfile'],
      ['src/Dockerfile'],
    ],
  ];
  it.each(cases)('%j', (text, excluded, kept) => {
    const ig = DockerIgnore.parse(text);
    for (const f of excluded) expect([f, ig.excludes(f)]).toEqual([f, true]);
    for (const f of kept) expect([f, ig.excludes(f)]).toEqual([f, false]);
  });

  it('knows when an exception may re-include files under an excluded directory', () => {
    const ig = DockerIgnore.parse('dir\n!dir/keep');
    expect(ig.mayIncludeUnder('dir')).toBe(true);
    expect(ig.mayIncludeUnder('other')).toBe(false);
    expect(DockerIgnore.parse('a\n!**/*.go').mayIncludeUnder('a')).toBe(true);
  });
});
