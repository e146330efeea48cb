import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { FORMATTER_ERRORS, makeContext, renderList, writeEach } from './formatter.js';
import { tabwrite } from './tabwriter.js';
import { Template, TemplateError } from './template.js';

const data = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 42, ExitCode: 0 },
  Config: {
    Cmd: ['sh', '-c', 'echo hi'],
    Env: ['A=1', 'B=2'],
    Labels: { 'com.x': 'y', app: 'web' },
    Empty: [],
  },
  NetworkSettings: {
    Ports: { '80/tcp': null, '443/tcp': [{ HostIp: '0.0.0.0', HostPort: '8443' }] },
  },
  Count: 3,
  Ratio: 1.5,
  Nothing: null,
  Text: 'Hello World',
};

const cases: Array<[string, string]> = [
  ['{{.Id}}', 'abc123'],
  ['{{.State.Status}}', 'running'],
  ['{{.State.Running}} {{.State.Pid}}', 'true 42'],
  ['{{.Config.Cmd}}', '[sh -c echo hi]'],
  ['{{.Config.Labels}}', 'map[app:web com.x:y]'],
  ['{{.State}}', '{running true 42 0}'],
  ['{{.NetworkSettings.Ports}}', 'map[443/tcp:[{0.0.0.0 8443}] 80/tcp:[]]'],
  ['{{.Missing}}', '<no value>'],
  ['{{.Nothing}}', '<nil>'],
  ['{{.Ratio}}', '1.5'],
  ['{{json .Config.Labels}}', '{"com.x":"y","app":"web"}'],
  ['{{json .Config.Cmd}}', '["sh","-c","echo hi"]'],
  ['{{json .State.Status}}', '"running"'],
  ['{{index .Config.Labels "com.x"}}', 'y'],
  ['{{index .Config.Cmd 1}}', '-c'],
  ['{{range .Config.Env}}[{{.}}]{{end}}', '[A=1][B=2]'],
  ['{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}', '0=A=1 1=B=2 '],
  ['{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}', 'app:web;com.x:y;'],
  ['{{range .Config.Empty}}x{{else}}none{{end}}', 'none'],
  ['{{range .Config.Env}}{{$.Id}}{{end}}', 'abc123abc123'],
  ['{{if .State.Running}}up{{else}}down{{end}}', 'up'],
  ['{{if .Nothing}}a{{else if .State.Pid}}b{{else}}c{{end}}', 'b'],
  ['{{if not .State.Running}}a{{else}}b{{end}}', 'b'],
  ['{{if and .State.Running (eq .State.Pid 42)}}yes{{end}}', 'yes'],
  ['{{if or .Nothing .Id}}{{.Id}}{{end}}', 'abc123'],
  ['{{with .State}}{{.Status}}{{end}}', 'running'],
  ['{{with .Missing}}x{{else}}y{{end}}', 'y'],
  ['{{join .Config.Env ","}}', 'A=1,B=2'],
  ['{{.Text | lower}}', 'hello world'],
  ['{{.Text | upper}}', 'HELLO WORLD'],
  ['{{"hello docker world" | title}}', 'Hello Docker World'],
  ['{{split "a:b:c" ":"}}', '[a b c]'],
  ['{{index (split .Text " ") 1}}', 'World'],
  ['{{printf "%s-%d" .Id .Count}}', 'abc123-3'],
  ['{{printf "%-6s|" "ab"}}', 'ab    |'],
  ['{{printf "%5.1f" .Ratio}}', '  1.5'],
  ['{{printf "%q" .Id}}', '"abc123"'],
  ['{{printf "%v" .Config.Cmd}}', '[sh -c echo hi]'],
  ['{{println .Id .Count}}', 'abc123 3\n'],
  ['{{print .Id .Count}}', 'abc1233'],
  ['{{len .Config.Env}}', '2'],
  ['{{$x := .Id}}{{$x}}', 'abc123'],
  ['{{$x := 1}}{{$x = 2}}{{$x}}', '2'],
  ['a  {{- .Id -}}  b', 'aabc123b'],
  ['{{- /* a comment */ -}} x', 'x'],
  ['{{.Name | printf "%s!"}}', '/web!'],
  ['{{truncate .Id 3}}', 'abc'],
  ['{{pad .Id 1 2}}', ' abc123  '],
  ['{{(index .Config.Cmd 0)}}', 'sh'],
  ['{{eq .State.Status "running" "paused"}}', 'true'],
  ['{{ne .Count 3}}', 'false'],
  ['{{lt .Count 4}} {{ge .Count 4}}', 'true false'],
  ['{{`raw {{x}}`}}', 'raw {{x}}'],
];

describe('Template', () => {
  it.each(cases)('%s', (src, want) => {
    expect(new Template(src).execute(data)).toBe(want);
  });

  it('reports parse errors as Go does', () => {
    expect(() => new Template('{{nope .}}')).toThrow('function "nope" not defined');
    expect(() => new Template('{{if .X}}')).toThrow(TemplateError);
    expect(() => new Template('{{end}}')).toThrow('unexpected {{end}}');
    expect(() => new Template('{{.X')).toThrow('unclosed action');
  });

  it('treats context objects as structs: unknown fields are errors', () => {
    const ctx = makeContext(
      '*formatter.ContainerContext',
      { ID: 'x' },
      { Label: (k: string) => `L:${k}` },
    );
    expect(new Template('{{.ID}} {{.Label "a"}}').execute(ctx)).toBe('x L:a');
    expect(() => new Template('{{.Nope}}').execute(ctx)).toThrow(
      "can't evaluate field Nope in type *formatter.ContainerContext",
    );
    expect(new Template('{{json .}}').execute(ctx)).toBe('{"ID":"x"}');
  });

  it("places execution errors at Go's line:col (a chain at its second field)", () => {
    const ctx = makeContext('T', { A: { B: 1 } });
    expect(() => new Template('{{.Nope}}').execute(ctx)).toThrow(
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type T',
    );
    const raw = { Config: { Labels: {} }, State: {} };
    expect(() => new Template('x {{.Config.Nope.X}}').withMissingKeyError().execute(raw)).toThrow(
      'template: :1:11: executing "" at <.Config.Nope>: map has no entry for key "Nope"',
    );
    expect(() => new Template('a\n  {{.State.Nope}}').withMissingKeyError().execute(raw)).toThrow(
      'template: :2:10: executing "" at <.State.Nope>: map has no entry for key "Nope"',
    );
    expect(new Template('{{.State.Nope}}').execute(raw)).toBe('<no value>');
  });
});

describe('renderList', () => {
  const headers = { ID: 'CONTAINER ID', Image: 'IMAGE', Names: 'NAMES' };
  const items = [
    makeContext('c', { ID: 'abcdef123456', Image: 'busybox', Names: 'web' }),
    makeContext('c', { ID: '0123456789ab', Image: 'debian:bookworm', Names: 'db' }),
  ];

  it('renders docker tables with 3-space padding and minimum width 10', () => {
    const out = renderList('', 'table {{.ID}}\t{{.Image}}\t{{.Names}}', items, headers);
    expect(out).toBe(
      'CONTAINER ID   IMAGE             NAMES\n' +
        'abcdef123456   busybox           web\n' +
        '0123456789ab   debian:bookworm   db\n',
    );
  });

  it('supports custom table formats with \\t escapes and header functions', () => {
    const out = renderList('table {{.Names | upper}}\\t{{.ID}}', 'unused', items, headers);
    expect(out).toBe('NAMES     CONTAINER ID\nWEB       abcdef123456\nDB        0123456789ab\n');
  });

  it('renders the header alone for an empty list', () => {
    expect(renderList('', 'table {{.ID}}\t{{.Names}}', [], headers)).toBe('CONTAINER ID   NAMES\n');
  });

  it('supports raw templates and the json shorthand', () => {
    expect(renderList('{{.Names}}', 'x', items, headers)).toBe('web\ndb\n');
    expect(renderList('json', 'x', items, headers)).toBe(
      '{"ID":"abcdef123456","Image":"busybox","Names":"web"}\n' +
        '{"ID":"0123456789ab","Image":"debian:bookworm","Names":"db"}\n',
    );
  });

  it('writeEach runs a template per object', () => {
    const run = (format: string, items: unknown[]): string => {
      const out = new PassThrough();
      writeEach(out, format, items, FORMATTER_ERRORS);
      return String(out.read() ?? '');
    };
    expect(run('{{.A}}', [{ A: 1 }, { A: 2 }])).toBe('1\n2\n');
    expect(run('json', [{ A: 1 }])).toBe('{"A":1}\n');
  });
});

describe('tabwrite', () => {
  it('leaves the last cell unpadded and keeps minwidth', () => {
    expect(tabwrite('a\tb\tc\nlonger cell\tx\ty')).toBe(
      'a             b         c\nlonger cell   x         y',
    );
  });
  it('ends a column block at a line without tabs', () => {
    expect(tabwrite('aa\tb\nplain\nc\td')).toBe('aa        b\nplain\nc         d');
  });
});
