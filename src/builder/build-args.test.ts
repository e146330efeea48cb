import { describe, expect, it } from 'vitest';

import { metaArgValues, StageArgs, unconsumedArgs } from './build-args.js';
import { expandInstruction, readDockerfile } from './dockerfile/index.js';

/** Walk stage `n`, declaring its ARGs and expanding a trailing `ENV out=...`. */
function stageEnvOut(text: string, given: Record<string, string | null>, n = 0) {
  const df = readDockerfile(text);
  const buildArgs = new Map(Object.entries(given));
  const consumed = new Set<string>();
  const meta = metaArgValues(df, buildArgs, consumed);
  const args = new StageArgs(buildArgs, meta, consumed);
  const env: string[] = [];
  let out: string | undefined;
  for (const instr of df.stages[n]!.instructions) {
    const e = expandInstruction(instr, { vars: args.vars(env), escape: '\\' });
    if (e.kind === 'ARG') for (const a of e.args) args.declare(a.key, a.value);
    if (e.kind === 'ENV') for (const p of e.pairs) env.push(`${p.key}=${p.value}`);
    if (e.kind === 'ENV' && e.pairs[0]!.key === 'out') out = e.pairs[0]!.value;
  }
  return {
    meta,
    out,
    runEnv: args.runEnv(env),
    history: args.historyArgs(env),
    unconsumed: unconsumedArgs(buildArgs, consumed),
  };
}

describe('ARG scoping', () => {
  it('meta args are for FROM only unless redeclared, and take build-arg values', () => {
    const text = 'ARG A=1\nARG B=${A}2\nFROM x\nENV out=[$A][$B]\nARG A\nENV out=[$A][$B]';
    const r = stageEnvOut(text, {});
    expect(r.meta).toEqual(
      new Map([
        ['A', '1'],
        ['B', '12'],
      ]),
    );
    expect(r.out).toBe('[1][]');
    expect(stageEnvOut(text, { A: 'x' }).meta.get('B')).toBe('x2');
  });

  it('an ARG is visible from its line on, defaults lose to build args, ENV wins over ARG', () => {
    const text = 'FROM x\nENV out=$V\nARG V=d\nARG W\nENV out=$V-$W\nENV V=env\nENV out=$V';
    expect(stageEnvOut(text, {}).out).toBe('env');
    const df = 'FROM x\nARG V=d\nARG W\nENV out=$V-${W:-none}';
    expect(stageEnvOut(df, {}).out).toBe('d-none');
    expect(stageEnvOut(df, { V: 'given', W: 'w' }).out).toBe('given-w');
  });

  it('scopes ARGs per stage', () => {
    const text = 'FROM x\nARG V=first\nFROM y\nENV out=[$V]';
    expect(stageEnvOut(text, {}, 1).out).toBe('[]');
  });

  it('RUN env: declared args not shadowed by ENV, proxies given on the command line', () => {
    const r = stageEnvOut('FROM x\nARG B=2\nARG A=1\nARG E=3\nENV E=env', {
      http_proxy: 'http://p:3128',
      unused: 'u',
    });
    expect(r.runEnv).toEqual(['A=1', 'B=2', 'http_proxy=http://p:3128']);
    expect(r.history).toEqual(['A=1', 'B=2']);
    expect(r.unconsumed).toEqual(['unused']);
  });

  it('a build arg given without a value (null) leaves the default', () => {
    expect(stageEnvOut('FROM x\nARG V=d\nENV out=$V', { V: null }).out).toBe('d');
  });
});
