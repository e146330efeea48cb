import { describe, expect, it } from 'vitest';

import { expandInstruction } from './expand.js';
import { parseGoDuration } from '../../api-types/index.js';
import { readDockerfile, type Instruction } from './instructions.js';
import { parseDockerfile } from './parser.js';

/** The instructions of the single stage, without line bookkeeping. */
function instrs(text: string): Array<Record<string, unknown>> {
  const df = readDockerfile(text);
  return df.stages.flatMap((s) =>
    s.instructions.map((i) => {
      const {
        line: _l,
        endLine: _e,
        original: _o,
        ...rest
      } = i as Instruction & Record<string, unknown>;
      return rest;
    }),
  );
}

const one = (text: string): Record<string, unknown> => instrs(`FROM scratch\n${text}`)[0]!;

describe('logical lines', () => {
  it('joins continuations, skipping comment and blank lines inside them', () => {
    const p = parseDockerfile(
      [
        'FROM busybox',
        'RUN echo a \\',
        '  # a comment inside',
        '',
        '    b \\  ',
        '\tc',
        '# after',
        'CMD x',
      ].join('\n'),
    );
    expect(p.nodes.map((n) => [n.cmd, n.rest, n.startLine, n.endLine])).toEqual([
      ['from', 'busybox', 1, 1],
      ['run', 'echo a     b \tc', 2, 6],
      ['cmd', 'x', 8, 8],
    ]);
  });

  it('reads CRLF files, a BOM, indentation and lowercase keywords', () => {
    const p = parseDockerfile('\uFEFF  from busybox\r\n\trun  true\r\n');
    expect(p.nodes.map((n) => [n.cmd, n.keyword, n.rest])).toEqual([
      ['from', 'from', 'busybox'],
      ['run', 'run', 'true'],
    ]);
  });

  it('a continuation at the end of the file ends the instruction', () => {
    expect(parseDockerfile('FROM a\nRUN x \\').nodes[1]!.rest).toBe('x');
  });

  it('keeps # that does not start a line', () => {
    expect(parseDockerfile('FROM a\nRUN echo #not a comment').nodes[1]!.rest).toBe(
      'echo #not a comment',
    );
  });
});

describe('parser directives', () => {
  it.each([
    ['# escape=`\nFROM a\nRUN a `\n b', '`', 'a  b'],
    ['#escape = \\\nFROM a\nRUN a \\\n b', '\\', 'a  b'],
    ['# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN x', '`', 'x'],
    // Not directives once a comment, blank line or instruction was seen.
    ['# hello\n# escape=`\nFROM a\nRUN a `', '\\', 'a `'],
    ['\n# escape=`\nFROM a\nRUN a `', '\\', 'a `'],
    ['# unknown=x\n# escape=`\nFROM a\nRUN a `', '\\', 'a `'],
  ])('%j', (text, escape, run) => {
    const p = parseDockerfile(text);
    expect(p.directives.escape).toBe(escape);
    expect(p.nodes[1]!.rest).toBe(run);
  });

  it('records syntax and rejects bad or repeated directives', () => {
    expect(parseDockerfile('# syntax = docker/dockerfile:1.7\nFROM a').directives.syntax).toBe(
      'docker/dockerfile:1.7',
    );
    expect(() => parseDockerfile('# escape=x\nFROM a')).toThrow(
      "invalid escape token 'x' does not match ` or \\",
    );
    expect(() => parseDockerfile('# escape=`\n# escape=\\\nFROM a')).toThrow(
      'only one escape parser directive can be used',
    );
  });
});

describe('heredocs', () => {
  it('reads RUN <<EOF and COPY <<EOF bodies with their quoting and chomping', () => {
    const df = readDockerfile(
      [
        'FROM busybox',
        'RUN <<EOF',
        'echo $HOME',
        '  indented',
        'EOF',
        'COPY <<"EOT" <<-EOF2 /dest/',
        'raw $x',
        'EOT',
        '\tchomped $x',
        '\tEOF2',
        "RUN cat <<A > /a && cat <<'B' > /b",
        'a',
        'A',
        'b',
        'B',
        'CMD done',
      ].join('\n'),
    );
    const [run, copy, run2, cmd] = df.stages[0]!.instructions;
    expect(run).toMatchObject({
      kind: 'RUN',
      line: 2,
      endLine: 5,
      command: { json: false, text: '<<EOF' },
      heredocs: [{ name: 'EOF', content: 'echo $HOME\n  indented\n', expand: true, chomp: false }],
    });
    expect(copy).toMatchObject({
      kind: 'COPY',
      sources: ['<<"EOT"', '<<-EOF2'],
      dest: '/dest/',
      heredocs: [
        { name: 'EOT', content: 'raw $x\n', expand: false, chomp: false },
        { name: 'EOF2', content: '\tchomped $x\n', expand: true, chomp: true },
      ],
    });
    expect(run2).toMatchObject({
      heredocs: [
        { name: 'A', content: 'a\n', expand: true },
        { name: 'B', content: 'b\n', expand: false },
      ],
    });
    expect(cmd).toMatchObject({ kind: 'CMD', line: 16 });
  });

  it('does not take <<< or quoted << for heredocs, and only in RUN/COPY/ADD', () => {
    expect(one('RUN cat <<<"x"')).toMatchObject({ heredocs: [] });
    expect(one('RUN echo "a <<b"')).toMatchObject({ heredocs: [] });
    expect(one('LABEL a=<<EOF')).toMatchObject({ pairs: [{ key: 'a', value: '<<EOF' }] });
  });

  it('fails on an unterminated heredoc', () => {
    expect(() => readDockerfile('FROM a\nRUN <<EOF\necho\n')).toThrow(
      'dockerfile parse error line 2: unterminated heredoc',
    );
  });
});

describe('instructions', () => {
  it.each<[string, Record<string, unknown>]>([
    ['RUN echo "a b"  c', { kind: 'RUN', command: { json: false, text: 'echo "a b"  c' } }],
    ['RUN ["echo", "a b"]', { kind: 'RUN', command: { json: true, argv: ['echo', 'a b'] } }],
    // Not valid JSON: the shell form, text as written.
    ["RUN ['echo', 'x']", { command: { json: false, text: "['echo', 'x']" } }],
    ['RUN [ "a" ', { command: { json: false, text: '[ "a"' } }],
    // One JSON value is decoded and what follows is ignored, as Docker does.
    ['CMD ["a"] trailing', { kind: 'CMD', command: { json: true, argv: ['a'] } }],
    ['CMD []', { command: { json: true, argv: [] } }],
    [
      'ENTRYPOINT ["/bin/sh", "-c"]',
      { kind: 'ENTRYPOINT', command: { json: true, argv: ['/bin/sh', '-c'] } },
    ],
    [
      'RUN --mount=type=cache,target=/c --network=none make',
      { mounts: ['type=cache,target=/c'], network: 'none', command: { json: false, text: 'make' } },
    ],
    [
      'RUN --mount=type=bind,source=a --mount=type=tmpfs,target=/t true',
      { mounts: ['type=bind,source=a', 'type=tmpfs,target=/t'] },
    ],
    ['RUN -- --not-a-flag', { command: { json: false, text: '--not-a-flag' } }],
    [
      'SHELL ["/bin/bash", "-eo", "pipefail", "-c"]',
      { kind: 'SHELL', shell: ['/bin/bash', '-eo', 'pipefail', '-c'] },
    ],
    [
      'ENV a=1 b="x y" c=\\$d',
      {
        kind: 'ENV',
        pairs: [
          { key: 'a', value: '1' },
          { key: 'b', value: '"x y"' },
          { key: 'c', value: '\\$d' },
        ],
      },
    ],
    ['ENV name  value with  spaces', { pairs: [{ key: 'name', value: 'value with  spaces' }] }],
    [
      'ENV a= b=',
      {
        pairs: [
          { key: 'a', value: '' },
          { key: 'b', value: '' },
        ],
      },
    ],
    [
      'LABEL "com.x.y"="v 1" other=2',
      {
        kind: 'LABEL',
        pairs: [
          { key: '"com.x.y"', value: '"v 1"' },
          { key: 'other', value: '2' },
        ],
      },
    ],
    [
      'ARG a b=2 "c=x y"',
      { kind: 'ARG', args: [{ key: 'a' }, { key: 'b', value: '2' }, { key: '"c', value: 'x y"' }] },
    ],
    [
      'EXPOSE 80 443/tcp 53/udp 8000-8010',
      { kind: 'EXPOSE', ports: ['443/tcp', '53/udp', '80', '8000-8010'] },
    ],
    ['VOLUME /a /b', { kind: 'VOLUME', paths: ['/a', '/b'] }],
    ['VOLUME ["/data", "/with space"]', { paths: ['/data', '/with space'] }],
    ['USER app:app', { kind: 'USER', value: 'app:app' }],
    ['WORKDIR /path with/space', { kind: 'WORKDIR', value: '/path with/space' }],
    ['STOPSIGNAL SIGTERM', { kind: 'STOPSIGNAL', value: 'SIGTERM' }],
    ['MAINTAINER Jane <j@x>', { kind: 'MAINTAINER', value: 'Jane <j@x>' }],
    ['ONBUILD RUN echo hi', { kind: 'ONBUILD', expression: 'RUN echo hi' }],
    ['HEALTHCHECK NONE', { kind: 'HEALTHCHECK', test: ['NONE'] }],
    [
      'HEALTHCHECK --interval=5s --timeout=1m30s --start-period=100ms --retries=3 CMD curl -f x',
      {
        test: ['CMD-SHELL', 'curl -f x'],
        interval: 5e9,
        timeout: 90e9,
        startPeriod: 1e8,
        retries: 3,
      },
    ],
    ['HEALTHCHECK CMD ["true"]', { test: ['CMD', 'true'] }],
    [
      'COPY a b /dest/',
      { kind: 'COPY', sources: ['a', 'b'], dest: '/dest/', json: false, link: false },
    ],
    // Quotes do not group words in COPY's shell form (they are removed by substitution).
    ['COPY "a b" /d', { sources: ['"a', 'b"'], dest: '/d' }],
    ['COPY ["a b", "/d e/"]', { sources: ['a b'], dest: '/d e/', json: true }],
    [
      'COPY --from=build --chown=1:2 --chmod=640 --link /out /app',
      { from: 'build', chown: '1:2', chmod: '640', link: true },
    ],
    ['COPY --link=false a b', { link: false }],
    ['COPY --exclude=*.md --exclude=tmp . /app', { exclude: ['*.md', 'tmp'] }],
    ['ADD --checksum=sha256:abc https://x/y.tgz /', { kind: 'ADD', checksum: 'sha256:abc' }],
    ['ADD --chown="app user" a b', { chown: 'app user' }],
  ])('%s', (line, want) => {
    expect(one(line)).toMatchObject(want);
  });

  it('reads stages with names, platforms, and meta ARGs before the first FROM', () => {
    const df = readDockerfile(
      [
        'ARG BASE=busybox',
        'ARG TAG',
        'FROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-latest} AS Build',
        'RUN true',
        'from build as final',
        'copy --from=build /a /b',
      ].join('\n'),
    );
    expect(df.metaArgs.map((a) => a.args)).toEqual([
      [{ key: 'BASE', value: 'busybox' }],
      [{ key: 'TAG' }],
    ]);
    expect(
      df.stages.map((s) => [
        s.index,
        s.from.image,
        s.from.name,
        s.from.platform,
        s.instructions.length,
      ]),
    ).toEqual([
      [0, '${BASE}:${TAG:-latest}', 'build', '$BUILDPLATFORM', 1],
      [1, 'build', 'final', undefined, 1],
    ]);
  });
});

describe('errors name the line in Docker wording', () => {
  it.each([
    ['FROM a\nRUNN x', 'dockerfile parse error line 2: unknown instruction: RUNN'],
    ['ENV a=b\nFROM a', 'no build stage in current context'],
    ['ARG a', 'no build stage in current context'],
    ['', 'file with no instructions'],
    ['FROM a b', 'dockerfile parse error line 1: FROM requires either one or three arguments'],
    ['FROM a is b', 'FROM requires either one or three arguments'],
    [
      'FROM a AS 1st',
      'invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
    ],
    ['FROM a AS x\nFROM b AS X', 'dockerfile parse error line 2: duplicate stage name "x"'],
    ['FROM --plat=x a', 'unknown flag: plat'],
    ['FROM a\nCOPY --from a b', 'missing a value on flag: from'],
    ['FROM a\nCOPY --from=x --from=y a b', 'duplicate flag specified: from'],
    ['FROM a\nCOPY --link=maybe a b', 'expecting boolean value for flag link, not: maybe'],
    [
      'FROM a\nCOPY a',
      'COPY requires at least two arguments, but only one was provided. Destination could not be determined',
    ],
    ['FROM a\nADD', 'ADD requires at least two arguments'],
    ['FROM a\nCOPY --chmod=abc a b', 'invalid chmod parameter: abc'],
    ['FROM a\nADD --checksum=sha256:x a b', "checksum can't be specified for non-HTTP(S) sources"],
    ['FROM a\nENV', 'ENV requires at least one argument'],
    ['FROM a\nENV onlyname', 'ENV must have two arguments'],
    ['FROM a\nENV a=b c', 'Syntax error - can\'t find = in "c". Must be of the form: name=value'],
    ['FROM a\nENV =b', 'ENV names can not be blank'],
    ['FROM a\nLABEL =b', 'LABEL names can not be blank'],
    ['FROM a\nARG =b', 'ARG names can not be blank'],
    ['FROM a\nEXPOSE', 'EXPOSE requires at least one argument'],
    ['FROM a\nVOLUME', 'VOLUME requires at least one argument'],
    ['FROM a\nUSER', 'USER requires exactly one argument'],
    ['FROM a\nWORKDIR', 'WORKDIR requires exactly one argument'],
    ['FROM a\nSTOPSIGNAL', 'STOPSIGNAL requires exactly one argument'],
    ['FROM a\nRUN', 'RUN requires at least one argument'],
    ['FROM a\nCMD', 'CMD requires at least one argument'],
    ['FROM a\nRUN --network=bridge x', 'unsupported network mode "bridge"'],
    ['FROM a\nRUN --foo x', 'unknown flag: foo'],
    ['FROM a\nCMD --help', 'unknown flag: help'],
    [
      'FROM a\nCMD [1, 2]',
      'when using JSON array syntax, arrays must be comprised of strings only',
    ],
    ['FROM a\nSHELL /bin/sh -c', 'SHELL requires the arguments to be in JSON form'],
    ['FROM a\nSHELL []', 'SHELL requires at least one argument'],
    ['FROM a\nONBUILD ONBUILD RUN x', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['FROM a\nONBUILD FROM x', "FROM isn't allowed as an ONBUILD trigger"],
    ['FROM a\nONBUILD MAINTAINER x', "MAINTAINER isn't allowed as an ONBUILD trigger"],
    ['FROM a\nONBUILD BOGUS x', 'unknown instruction: BOGUS'],
    ['FROM a\nONBUILD COPY a', 'COPY requires at least two arguments'],
    ['FROM a\nHEALTHCHECK', 'HEALTHCHECK requires at least one argument'],
    ['FROM a\nHEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments'],
    ['FROM a\nHEALTHCHECK RUN x', 'Unknown type "RUN" in HEALTHCHECK (try CMD)'],
    ['FROM a\nHEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD'],
    ['FROM a\nHEALTHCHECK --interval=1us CMD x', 'Interval "interval" cannot be less than 1ms'],
    ['FROM a\nHEALTHCHECK --timeout=soon CMD x', 'time: invalid duration "soon"'],
    ['FROM a\nHEALTHCHECK --retries=-1 CMD x', '--retries cannot be negative (-1)'],
    ['FROM a\nHEALTHCHECK --bogus=1 CMD x', 'unknown flag: bogus'],
  ])('%j', (text, msg) => {
    expect(() => readDockerfile(text)).toThrow(msg);
  });

  it('counts lines through continuations, comments and heredocs', () => {
    const text = 'FROM a\n# c\nRUN a \\\n b\nRUN <<E\nx\nE\n\nBAD x';
    expect(() => readDockerfile(text)).toThrow(
      'dockerfile parse error line 9: unknown instruction: BAD',
    );
  });
});

describe('substitution where Docker applies it', () => {
  const vars = new Map([
    ['v', 'val'],
    ['ports', '80 443'],
    ['dir', '/srv'],
    ['u', 'app'],
  ]);
  const expanded = (line: string): Record<string, unknown> => {
    const df = readDockerfile(`FROM a\n${line}`);
    const used = new Set<string>();
    const out = expandInstruction(df.stages[0]!.instructions[0]!, { vars, escape: '\\', used });
    return { ...out, used: [...used].sort() };
  };

  it.each<[string, Record<string, unknown>]>([
    [
      'ENV a=$v b="${v} x" c=\'$v\' d=\\$v',
      {
        pairs: [
          { key: 'a', value: 'val' },
          { key: 'b', value: 'val x' },
          { key: 'c', value: '$v' },
          { key: 'd', value: '$v' },
        ],
        used: ['v'],
      },
    ],
    ['ENV $v=1', { pairs: [{ key: 'val', value: '1' }] }],
    ['ENV old $v and "quoted"', { pairs: [{ key: 'old', value: 'val and quoted' }] }],
    [
      'LABEL "k $v"="${missing:-dflt}"',
      { pairs: [{ key: 'k val', value: 'dflt' }], used: ['missing', 'v'] },
    ],
    ['ARG x=${v}-1 y', { args: [{ key: 'x', value: 'val-1' }, { key: 'y' }] }],
    ['EXPOSE $ports 8080/${proto:-udp}', { ports: ['80', '443', '8080/udp'] }], // '$' sorts first
    ['VOLUME ["$dir/data"]', { paths: ['/srv/data'] }],
    ['VOLUME $dir/a $dir/b', { paths: ['/srv/a', '/srv/b'] }],
    ['USER ${u}:${u}', { value: 'app:app' }],
    ['WORKDIR $dir/${v:+sub}', { value: '/srv/sub' }],
    ['STOPSIGNAL ${sig:-SIGKILL}', { value: 'SIGKILL' }],
    [
      'COPY --chown=$u:$u --from=${v} $dir/*.txt "$dir/x" /dest/$v/',
      { chown: 'app:app', from: 'val', sources: ['/srv/*.txt', '/srv/x'], dest: '/dest/val/' },
    ],
    ['ADD ["$dir/a", "$dir"]', { sources: ['/srv/a'], dest: '/srv' }],
    // Left alone: the shell or a later build expands these.
    ['RUN echo $v "${v}"', { command: { json: false, text: 'echo $v "${v}"' }, used: [] }],
    ['RUN ["echo", "$v"]', { command: { json: true, argv: ['echo', '$v'] } }],
    ['CMD echo $v', { command: { json: false, text: 'echo $v' } }],
    ['ENTRYPOINT ["$v"]', { command: { json: true, argv: ['$v'] } }],
    ['SHELL ["$v"]', { shell: ['$v'] }],
    ['HEALTHCHECK CMD echo $v', { test: ['CMD-SHELL', 'echo $v'] }],
    ['MAINTAINER $v', { value: '$v' }],
    ['ONBUILD ENV a=$v', { expression: 'ENV a=$v' }],
  ])('%s', (line, want) => {
    expect(expanded(line)).toMatchObject(want);
  });

  it('reports lexer errors at the instruction line', () => {
    expect(() => expanded('ENV a="open')).toThrow(
      'dockerfile parse error line 2: unexpected end of statement while looking for matching double-quote',
    );
    // COPY's shell form splits on whitespace first, so a quoted space breaks the quote.
    expect(() => expanded('COPY "a b" /d')).toThrow('looking for matching double-quote');
  });
});

describe('Go durations', () => {
  it.each([
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5s', 1.5e9],
    ['100ms', 1e8],
    ['2h', 7200e9],
    ['0', 0],
  ])('%s', (s, ns) => expect(parseGoDuration(s)).toBe(ns));
  it('rejects a number without unit', () =>
    expect(() => parseGoDuration('5')).toThrow('time: missing unit in duration "5"'));
});
