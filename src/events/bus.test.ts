import { describe, expect, it } from 'vitest';

import { parseFilters, type EventMessage } from '../api-types/index.js';
import { EventBus } from './bus.js';
import { eventMatches, familiarName } from './filter.js';

/** A bus on a manual clock (nanoseconds). */
function bus(capacity?: number): { b: EventBus; set: (sec: number) => void } {
  let now = 1_700_000_000n * 1_000_000_000n;
  return {
    b: new EventBus({ capacity, clock: () => now }),
    set: (sec) => (now = BigInt(Math.round(sec * 1e6)) * 1000n),
  };
}

const web = { ID: 'abc123def456', Attributes: { name: 'web', image: 'busybox:latest', app: 'x' } };

describe('EventBus.publish', () => {
  it('fills Docker fields, legacy ones for containers and images', () => {
    const { b, set } = bus();
    set(1700000000.123456);
    const ev = b.publish('container', 'start', web);
    expect(ev).toEqual({
      status: 'start',
      id: 'abc123def456',
      from: 'busybox:latest',
      Type: 'container',
      Action: 'start',
      Actor: { ID: 'abc123def456', Attributes: web.Attributes },
      scope: 'local',
      time: 1700000000,
      timeNano: 1700000000123456000,
    });
    expect(Object.keys(ev).slice(0, 3)).toEqual(['status', 'id', 'from']);
    expect(JSON.stringify(ev)).toContain('"timeNano":1700000000123456000');
    const img = b.publish('image', 'pull', {
      ID: 'busybox:latest',
      Attributes: { name: 'busybox' },
    });
    expect(img.status).toBe('pull');
    expect(img.id).toBe('busybox:latest');
    expect(img.from).toBeUndefined();
    const net = b.publish('network', 'create', { ID: 'n1', Attributes: { name: 'br' } });
    expect(net.status).toBeUndefined();
    expect(net.id).toBeUndefined();
  });

  it('time never goes backwards', () => {
    const { b, set } = bus();
    set(1700000010);
    const a = b.publish('daemon', 'reload', { ID: 'd' });
    set(1700000005);
    const c = b.publish('daemon', 'reload', { ID: 'd' });
    expect(c.timeNano).toBeGreaterThanOrEqual(a.timeNano);
  });

  it('the default clock is wall time', () => {
    const ev = new EventBus().publish('daemon', 'reload', { ID: 'd' });
    expect(Math.abs(ev.timeNano / 1e6 - Date.now())).toBeLessThan(1000);
  });
});

describe('EventBus.subscribe', () => {
  it('replays since, then delivers live; no replay without since/until', () => {
    const { b, set } = bus();
    for (let i = 0; i < 5; i++) {
      set(1700000000 + i);
      b.publish('container', `a${i}`, web);
    }
    const got: string[] = [];
    const un = b.subscribe({ since: 1700000002 }, (e) => got.push(e.Action));
    expect(got).toEqual(['a2', 'a3', 'a4']);
    b.publish('container', 'live', web);
    un();
    b.publish('container', 'after', web);
    expect(got).toEqual(['a2', 'a3', 'a4', 'live']);

    const none: string[] = [];
    b.subscribe({}, (e) => none.push(e.Action))();
    expect(none).toEqual([]);
  });

  it('until in the past: replay only, then end', () => {
    const { b, set } = bus();
    for (let i = 0; i < 5; i++) {
      set(1700000000 + i);
      b.publish('container', `a${i}`, web);
    }
    const got: string[] = [];
    let ended = 0;
    b.subscribe(
      { since: 1700000001, until: 1700000003 },
      (e) => got.push(e.Action),
      () => ended++,
    );
    expect(got).toEqual(['a1', 'a2', 'a3']);
    expect(ended).toBe(1);
    expect(b.subscriberCount).toBe(0);
  });

  it('until in the future: live events up to until, then end', async () => {
    const b = new EventBus();
    const got: string[] = [];
    const done = new Promise<void>((resolve) =>
      b.subscribe({ until: Date.now() / 1000 + 0.05 }, (e) => got.push(e.Action), resolve),
    );
    b.publish('container', 'before', web);
    await done;
    b.publish('container', 'late', web);
    expect(got).toEqual(['before']);
    expect(b.subscriberCount).toBe(0);
  });

  it('the ring keeps the last `capacity` events', () => {
    const { b, set } = bus(1024);
    for (let i = 0; i < 1100; i++) {
      set(1700000000 + i / 1000);
      b.publish('container', `e${i}`, web);
    }
    const got: string[] = [];
    b.subscribe({ since: 1 }, (e) => got.push(e.Action))();
    expect(got).toHaveLength(1024);
    expect(got[0]).toBe('e76');
    expect(got.at(-1)).toBe('e1099');
  });

  it('applies filters to replay and live events; a throwing subscriber does not break others', () => {
    const { b } = bus();
    b.publish('container', 'start', web);
    b.publish('network', 'connect', { ID: 'n1', Attributes: { name: 'br', container: 'abc' } });
    const got: EventMessage[] = [];
    b.subscribe({ since: 1, filters: parseFilters('{"type":["container"]}') }, (e) => got.push(e));
    b.subscribe({}, () => {
      throw new Error('boom');
    });
    b.publish('container', 'die', web);
    b.publish('volume', 'mount', { ID: 'v' });
    expect(got.map((e) => e.Action)).toEqual(['start', 'die']);
  });
});

describe('eventMatches', () => {
  const ev = (
    type: EventMessage['Type'],
    action: string,
    ID: string,
    attrs = {},
  ): EventMessage => ({
    Type: type,
    Action: action,
    Actor: { ID, Attributes: attrs },
    scope: 'local',
    time: 0,
    timeNano: 0,
  });
  const m = (filters: string, e: EventMessage): boolean => eventMatches(parseFilters(filters), e);
  const start = ev('container', 'start', 'abc123def456', {
    name: 'web',
    image: 'docker.io/library/busybox:1.36',
    app: 'x',
  });

  it('type, event, scope', () => {
    expect(m('{"type":["container"]}', start)).toBe(true);
    expect(m('{"type":["image","network"]}', start)).toBe(false);
    expect(m('{"event":["start","stop"]}', start)).toBe(true);
    expect(m('{"event":["sta"]}', start)).toBe(false);
    expect(m('{"scope":["local"]}', start)).toBe(true);
    expect(m('{"scope":["swarm"]}', start)).toBe(false);
  });

  it('exec_start / health_status match as prefixes', () => {
    const exec = ev('container', 'exec_start: sh -c true', 'abc');
    expect(m('{"event":["exec_start"]}', exec)).toBe(true);
    expect(m('{"event":["exec_create"]}', exec)).toBe(false);
    expect(m('{"event":["health_status"]}', ev('container', 'health_status: healthy', 'abc'))).toBe(
      true,
    );
  });

  it('container by ID, short ID or name', () => {
    expect(m('{"container":["abc123def456"]}', start)).toBe(true);
    expect(m('{"container":["abc123"]}', start)).toBe(true);
    expect(m('{"container":["web"]}', start)).toBe(true);
    expect(m('{"container":["db"]}', start)).toBe(false);
  });

  it('image by name with or without tag, for container and image events', () => {
    expect(m('{"image":["busybox"]}', start)).toBe(true);
    expect(m('{"image":["docker.io/library/busybox:1.36"]}', start)).toBe(true);
    expect(m('{"image":["alpine"]}', start)).toBe(false);
    const pull = ev('image', 'pull', 'sha256:' + 'a'.repeat(64), { name: 'quay.io/x/y:2' });
    expect(m('{"image":["quay.io/x/y"]}', pull)).toBe(true);
    expect(m('{"image":["sha256:' + 'a'.repeat(64) + '"]}', pull)).toBe(true);
  });

  it('labels, daemon, network, volume', () => {
    expect(m('{"label":["app"]}', start)).toBe(true);
    expect(m('{"label":["app=x"]}', start)).toBe(true);
    expect(m('{"label":["app=y"]}', start)).toBe(false);
    expect(m('{"label":["app=x","other"]}', start)).toBe(false);
    expect(m('{"daemon":["d1"]}', ev('daemon', 'reload', 'd1', { name: 'host' }))).toBe(true);
    expect(m('{"network":["br"]}', ev('network', 'create', 'n1', { name: 'br0' }))).toBe(true);
    expect(m('{"network":["n2"]}', ev('network', 'create', 'n1', { name: 'br0' }))).toBe(false);
    expect(m('{"volume":["v"]}', ev('volume', 'create', 'vol1'))).toBe(true);
  });

  it('familiarName', () => {
    expect(familiarName('docker.io/library/busybox:1')).toBe('busybox');
    expect(familiarName('docker.io/me/app@sha256:' + 'b'.repeat(64))).toBe('me/app');
    expect(familiarName('localhost:5000/app:1')).toBe('localhost:5000/app');
    expect(familiarName('a'.repeat(64))).toBe('a'.repeat(64));
  });
});
