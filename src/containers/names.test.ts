import { describe, expect, it } from 'vitest';

import { randomName, validName } from './names.js';

describe('validName', () => {
  it("accepts Docker's name pattern, with an optional leading slash", () => {
    for (const n of ['web', '/web', 'a1', 'my_app.v2-x', '0abc', 'A_B']) {
      expect(validName(n)).toBe(true);
    }
  });

  it('refuses the rest', () => {
    for (const n of ['', 'a', '/a', '_web', '.web', '-web', 'we b', 'web/1', '//web', 'wéb']) {
      expect(validName(n)).toBe(false);
    }
  });
});

describe('randomName', () => {
  it('makes valid adjective_surname names', () => {
    for (let i = 0; i < 50; i++) {
      const n = randomName(() => false);
      expect(n).toMatch(/^[a-z]+_[a-z]+$/);
      expect(validName(n)).toBe(true);
    }
  });

  it('avoids taken names', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const n = randomName((c) => taken.has(c));
      expect(taken.has(n)).toBe(false);
      taken.add(n);
    }
  });

  it('adds a digit when plain names keep being taken', () => {
    const asked: string[] = [];
    const n = randomName((c) => {
      asked.push(c);
      return !/\d$/.test(c);
    });
    expect(n).toMatch(/^[a-z]+_[a-z]+\d$/);
    expect(asked).toHaveLength(11);
    expect(asked.at(-1)).toBe(n);
  });

  it('falls back to a numbered name when everything is taken', () => {
    expect(randomName(() => true)).toMatch(/^wharf_\d+$/);
  });
});
