import { describe, expect, it } from 'vitest';

import { FlagError, parseFlags, type FlagDef } from './flags.js';

const defs: FlagDef[] = [
  { name: 'detach', short: 'd', type: 'bool', help: '' },
  { name: 'interactive', short: 'i', type: 'bool', help: '' },
  { name: 'tty', short: 't', type: 'bool', help: '' },
  { name: 'rm', type: 'bool', help: '' },
  { name: 'env', short: 'e', type: 'list', help: '' },
  { name: 'publish', short: 'p', type: 'list', help: '' },
  { name: 'name', type: 'string', help: '' },
  { name: 'last', short: 'n', type: 'int', help: '', default: -1 },
  { name: 'sig-proxy', type: 'bool', help: '', default: true },
];

describe('parseFlags', () => {
  it('parses combined shorthands, attached values and long forms', () => {
    const r = parseFlags(defs, [
      '-it',
      '-p80',
      '-p=81',
      '--name=web',
      '-e',
      'A=1',
      '--env',
      'B=2',
      'img',
    ]);
    expect(r.flags.bool('interactive')).toBe(true);
    expect(r.flags.bool('tty')).toBe(true);
    expect(r.flags.bool('detach')).toBe(false);
    expect(r.flags.list('publish')).toEqual(['80', '81']);
    expect(r.flags.str('name')).toBe('web');
    expect(r.flags.list('env')).toEqual(['A=1', 'B=2']);
    expect(r.args).toEqual(['img']);
  });

  it('handles bool values and defaults', () => {
    const r = parseFlags(defs, ['--rm=false', '-d=true', '--sig-proxy=false']);
    expect(r.flags.bool('rm')).toBe(false);
    expect(r.flags.changed('rm')).toBe(true);
    expect(r.flags.bool('detach')).toBe(true);
    expect(r.flags.bool('sig-proxy')).toBe(false);
    expect(parseFlags(defs, []).flags.int('last')).toBe(-1);
    expect(parseFlags(defs, []).flags.bool('sig-proxy')).toBe(true);
  });

  it('stops at the first positional when not interspersed (run)', () => {
    const r = parseFlags(defs, ['-d', 'busybox', 'ls', '-la', '--rm'], { interspersed: false });
    expect(r.flags.bool('detach')).toBe(true);
    expect(r.flags.bool('rm')).toBe(false);
    expect(r.args).toEqual(['busybox', 'ls', '-la', '--rm']);
  });

  it('intersperses flags and positionals by default', () => {
    const r = parseFlags(defs, ['a', '-d', 'b', '--', '-i']);
    expect(r.args).toEqual(['a', 'b', '-i']);
    expect(r.flags.bool('detach')).toBe(true);
    expect(r.flags.bool('interactive')).toBe(false);
  });

  it('takes a value starting with a dash for a value flag', () => {
    const r = parseFlags(defs, ['-n', '-3', '--name', '-x']);
    expect(r.flags.int('last')).toBe(-3);
    expect(r.flags.str('name')).toBe('-x');
  });

  it('reports errors as pflag does', () => {
    expect(() => parseFlags(defs, ['--nope'])).toThrow(new FlagError('unknown flag: --nope'));
    expect(() => parseFlags(defs, ['-x'])).toThrow("unknown shorthand flag: 'x' in -x");
    expect(() => parseFlags(defs, ['--name'])).toThrow('flag needs an argument: --name');
    expect(() => parseFlags(defs, ['-e'])).toThrow("flag needs an argument: 'e' in -e");
    expect(() => parseFlags(defs, ['-n', 'abc'])).toThrow(
      'invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": invalid syntax',
    );
    expect(() => parseFlags(defs, ['--rm=maybe'])).toThrow('strconv.ParseBool');
  });

  it('recognises --help and -h when -h is not a flag', () => {
    expect(parseFlags(defs, ['--help']).help).toBe(true);
    expect(parseFlags(defs, ['-h']).help).toBe(true);
    const withH = [...defs, { name: 'hostname', short: 'h', type: 'string', help: '' } as FlagDef];
    const r = parseFlags(withH, ['-h', 'box']);
    expect(r.help).toBe(false);
    expect(r.flags.str('hostname')).toBe('box');
  });
});
