import { describe, expect, it } from 'vitest';

import { RegistryError } from './errors.js';
import { MAX_PAGE, nextLink, paginate, parsePageQuery, sortNames } from './paginate.js';

const names = ['a', 'b', 'c', 'd', 'e'];

describe('pagination', () => {
  it('whole list without n', () => {
    expect(paginate(names, {})).toEqual({ items: names });
  });
  it('pages of n, continuing after last', () => {
    expect(paginate(names, { n: 2 })).toEqual({ items: ['a', 'b'], next: 'b' });
    expect(paginate(names, { n: 2, last: 'b' })).toEqual({ items: ['c', 'd'], next: 'd' });
    expect(paginate(names, { n: 2, last: 'd' })).toEqual({ items: ['e'] });
    expect(paginate(names, { n: 5 })).toEqual({ items: names });
  });
  it('last need not be in the list', () => {
    expect(paginate(names, { last: 'bb' })).toEqual({ items: ['c', 'd', 'e'] });
    expect(paginate(names, { last: 'z' })).toEqual({ items: [] });
  });
  it('n=0 gives an empty page and no link', () => {
    expect(paginate(names, { n: 0 })).toEqual({ items: [] });
  });
  it('parses n and last; refuses a bad n; caps n', () => {
    expect(parsePageQuery(new URLSearchParams('n=3&last=x'))).toEqual({ n: 3, last: 'x' });
    expect(parsePageQuery(new URLSearchParams('n=99999'))).toEqual({ n: MAX_PAGE });
    expect(parsePageQuery(new URLSearchParams(''))).toEqual({});
    for (const bad of ['n=-1', 'n=abc', 'n=1.5']) {
      try {
        parsePageQuery(new URLSearchParams(bad));
        expect.unreachable();
      } catch (err) {
        expect((err as RegistryError).code).toBe('PAGINATION_NUMBER_INVALID');
      }
    }
  });
  it('Link header', () => {
    expect(nextLink('/v2/a/b/tags/list', 2, 'v1')).toBe(
      '</v2/a/b/tags/list?n=2&last=v1>; rel="next"',
    );
    expect(nextLink('/v2/_catalog', undefined, 'a/b')).toBe(
      '</v2/_catalog?last=a%2Fb>; rel="next"',
    );
  });
  it('sorts by code unit', () => {
    expect(sortNames(['b', 'B', 'a', '_', '1'])).toEqual(['1', 'B', '_', 'a', 'b']);
  });
});
