import { describe, expect, it } from 'vitest';

import { Router, type Handler } from './router.js';

const h: Handler = () => undefined;

function router(): Router {
  const r = new Router();
  r.add([
    { method: 'GET', path: '/_ping', handler: h },
    { method: 'HEAD', path: '/_ping', handler: h },
    { method: 'GET', path: '/containers/json', handler: h },
    { method: 'GET', path: '/containers/{id}/json', handler: h },
    { method: 'POST', path: '/containers/{id}/start', handler: h },
    { method: 'GET', path: '/images/{name:.+}/json', handler: h },
    { method: 'DELETE', path: '/images/{name:.+}', handler: h },
    { method: 'GET', path: '/exec/{id}/json', handler: h },
  ]);
  return r;
}

describe('Router', () => {
  it('matches literal paths, with or without a trailing slash', () => {
    const r = router();
    expect(r.match('GET', '/containers/json')).toMatchObject({
      route: { method: 'GET', path: '/containers/json' },
      params: {},
      pathKnown: true,
    });
    expect(r.match('GET', '/containers/json/').route?.path).toBe('/containers/json');
  });

  it('extracts and decodes parameters, which stop at a slash', () => {
    const r = router();
    const m = r.match('POST', '/containers/my%20app/start');
    expect(m.route?.path).toBe('/containers/{id}/start');
    expect(m.params).toEqual({ id: 'my app' });
    expect(r.match('GET', '/containers/a/b/json').route).toBeUndefined();
  });

  it('lets a parameter take a value that is also a literal segment', () => {
    const r = router();
    expect(r.match('GET', '/containers/json/json').params).toEqual({ id: 'json' });
  });

  it('lets {name:.+} span slashes', () => {
    const r = router();
    const m = r.match('GET', '/images/registry.example:5000/library/busybox:1.36/json');
    expect(m.route?.path).toBe('/images/{name:.+}/json');
    expect(m.params).toEqual({ name: 'registry.example:5000/library/busybox:1.36' });
    expect(r.match('DELETE', '/images/sha256%3Aabc').params).toEqual({ name: 'sha256:abc' });
    expect(r.match('DELETE', '/images/a/b/c').params).toEqual({ name: 'a/b/c' });
  });

  it('prefers an explicit HEAD route, else falls back to GET', () => {
    const r = router();
    expect(r.match('HEAD', '/_ping').route?.method).toBe('HEAD');
    const m = r.match('HEAD', '/containers/abc/json');
    expect(m.route?.method).toBe('GET');
    expect(m.params).toEqual({ id: 'abc' });
  });

  it('reports a known path with another method', () => {
    const r = router();
    const m = r.match('DELETE', '/containers/abc/start');
    expect(m.route).toBeUndefined();
    expect(m.pathKnown).toBe(true);
    expect(r.match('HEAD', '/containers/abc/start')).toMatchObject({ pathKnown: true });
  });

  it('reports an unknown path', () => {
    const r = router();
    expect(r.match('GET', '/nope')).toEqual({ params: {}, pathKnown: false });
    expect(r.match('GET', '/containers/abc/json/extra').pathKnown).toBe(false);
    expect(r.match('GET', '/_pingx').pathKnown).toBe(false);
    expect(r.match('GET', '/x/_ping').pathKnown).toBe(false);
  });
});
