import { describe, expect, it } from 'vitest';

import type { ContainerRecord } from './record.js';
import { emptyState, RECORD_SCHEMA_VERSION } from './record.js';
import { filterContainers, portSummary, statusText, type ListContext } from './views.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function rec(
  id: string,
  opts: {
    name?: string;
    created?: string;
    state?: Partial<ContainerRecord['State']>;
    labels?: Record<string, string>;
    image?: string;
    network?: string;
  } = {},
): ContainerRecord {
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    Id: id,
    Created: opts.created ?? ago(60_000),
    Path: 'sh',
    Args: [],
    State: { ...emptyState(), ...opts.state },
    Image: `sha256:${opts.image ?? 'busybox'}`,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: '',
    Name: `/${opts.name ?? id}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    Config: { Image: opts.image ?? 'busybox', Labels: opts.labels ?? {} },
    HostConfig: { NetworkMode: opts.network ?? 'bridge' },
    NetworkSettings: { SandboxKey: '', Networks: {} },
    runtime: {
      imageRef: opts.image ?? 'busybox',
      parentChainID: '',
      user: { uid: 0, gid: 0, additionalGids: [] },
    },
  };
}

const running = (startedMsAgo: number) => ({
  Status: 'running' as const,
  Running: true,
  Pid: 42,
  StartedAt: ago(startedMsAgo),
});
const exited = (code: number, finishedMsAgo: number) => ({
  Status: 'exited' as const,
  ExitCode: code,
  StartedAt: ago(finishedMsAgo + 1000),
  FinishedAt: ago(finishedMsAgo),
});

describe('statusText', () => {
  it('says Created for a container never started', () => {
    expect(statusText(rec('a'), NOW)).toBe('Created');
  });

  it('says Up … for a running container, with (Paused)', () => {
    expect(statusText(rec('a', { state: running(3_000) }), NOW)).toBe('Up 3 seconds');
    expect(statusText(rec('a', { state: running(500) }), NOW)).toBe('Up Less than a second');
    expect(statusText(rec('a', { state: { ...running(2 * 3_600_000), Paused: true } }), NOW)).toBe(
      'Up 2 hours (Paused)',
    );
  });

  it('says Exited (code) … ago', () => {
    expect(statusText(rec('a', { state: exited(0, 120_000) }), NOW)).toBe(
      'Exited (0) 2 minutes ago',
    );
    expect(statusText(rec('a', { state: exited(137, 1_000) }), NOW)).toBe(
      'Exited (137) 1 second ago',
    );
  });

  it('says Removal In Progress and Dead', () => {
    expect(statusText(rec('a', { state: { ...running(1000), Status: 'removing' } }), NOW)).toBe(
      'Removal In Progress',
    );
    expect(statusText(rec('a', { state: { Status: 'dead', Dead: true } }), NOW)).toBe('Dead');
  });
});

describe('filterContainers', () => {
  // Oldest first here; the list comes back newest first.
  const created = rec('c0created', { name: 'fresh', created: ago(10_000) });
  const web = rec('c1web', {
    name: 'web',
    created: ago(50_000),
    state: running(40_000),
    labels: { tier: 'front', env: 'prod' },
    image: 'nginx',
  });
  const db = rec('c2db', {
    name: 'db',
    created: ago(40_000),
    state: running(30_000),
    labels: { tier: 'back' },
    image: 'postgres',
    network: 'host',
  });
  const job = rec('c3job', {
    name: 'job',
    created: ago(30_000),
    state: exited(0, 20_000),
    labels: { env: 'prod' },
  });
  const crash = rec('c4crash', { name: 'crash', created: ago(20_000), state: exited(2, 10_000) });
  const paused = rec('c5paused', {
    name: 'webby',
    created: ago(15_000),
    state: { ...running(10_000), Status: 'paused', Paused: true },
  });
  const all = [web, db, job, crash, paused, created];
  const byName = new Map(all.map((r) => [r.Name.slice(1), r]));
  const ctx: ListContext = {
    matchesImage: (r, ref) => r.Config.Image === ref,
    find: (ref) => byName.get(ref) ?? all.find((r) => r.Id === ref),
  };
  const ids = (opts: { all?: boolean; limit?: number; filters?: Record<string, string[]> }) =>
    filterContainers(
      all,
      {
        all: opts.all ?? false,
        limit: opts.limit,
        filters: new Map(Object.entries(opts.filters ?? {})),
      },
      ctx,
    ).map((r) => r.Name.slice(1));

  it('lists running (and paused) containers by default, newest first', () => {
    expect(ids({})).toEqual(['webby', 'db', 'web']);
  });

  it('lists everything with all, newest first', () => {
    expect(ids({ all: true })).toEqual(['fresh', 'webby', 'crash', 'job', 'db', 'web']);
  });

  it('does not reorder its input', () => {
    const input = [...all];
    filterContainers(input, { all: true, filters: new Map() }, ctx);
    expect(input).toEqual(all);
  });

  it('breaks ties in creation time by ID', () => {
    const t = ago(5_000);
    const a = rec('aaa', { created: t });
    const b = rec('bbb', { created: t });
    const out = filterContainers([a, b], { all: true, filters: new Map() }, ctx);
    expect(out.map((r) => r.Id)).toEqual(['bbb', 'aaa']);
  });

  it('applies limit to all containers', () => {
    expect(ids({ limit: 2 })).toEqual(['fresh', 'webby']);
    expect(ids({ limit: 1 })).toEqual(['fresh']);
    expect(ids({ limit: 0 })).toEqual(['webby', 'db', 'web']);
  });

  it('filters by id prefix and by name regexp, ORed within a key', () => {
    expect(ids({ all: true, filters: { id: ['c2', 'c3'] } })).toEqual(['job', 'db']);
    expect(ids({ all: true, filters: { name: ['web'] } })).toEqual(['webby', 'web']);
    expect(ids({ all: true, filters: { name: ['^web$'] } })).toEqual(['web']);
    expect(ids({ all: true, filters: { name: ['/db'] } })).toEqual(['db']);
    expect(ids({ all: true, filters: { name: ['^db$', '^job$'] } })).toEqual(['job', 'db']);
  });

  it('ANDs across keys', () => {
    expect(ids({ all: true, filters: { name: ['web'], status: ['running'] } })).toEqual(['web']);
  });

  it('filters by status, which implies all', () => {
    expect(ids({ filters: { status: ['exited'] } })).toEqual(['crash', 'job']);
    expect(ids({ filters: { status: ['created', 'paused'] } })).toEqual(['fresh', 'webby']);
  });

  it('filters by exit code, which implies all and excludes never-started containers', () => {
    expect(ids({ filters: { exited: ['0'] } })).toEqual(['job']);
    expect(ids({ filters: { exited: ['0', '2'] } })).toEqual(['crash', 'job']);
  });

  it('filters by label key or key=value, all of them required', () => {
    expect(ids({ all: true, filters: { label: ['env'] } })).toEqual(['job', 'web']);
    expect(ids({ all: true, filters: { label: ['tier=back'] } })).toEqual(['db']);
    expect(ids({ all: true, filters: { label: ['env=prod', 'tier=front'] } })).toEqual(['web']);
    expect(ids({ all: true, filters: { label: ['env=dev'] } })).toEqual([]);
  });

  it('filters by ancestor image and network', () => {
    expect(ids({ all: true, filters: { ancestor: ['nginx', 'postgres'] } })).toEqual(['db', 'web']);
    expect(ids({ all: true, filters: { network: ['host'] } })).toEqual(['db']);
  });

  it('filters by before and since', () => {
    expect(ids({ all: true, filters: { before: ['job'] } })).toEqual(['db', 'web']);
    expect(ids({ all: true, filters: { since: ['crash'] } })).toEqual(['fresh', 'webby']);
    expect(ids({ all: true, filters: { since: ['web'], before: ['crash'] } })).toEqual([
      'job',
      'db',
    ]);
    // As dockerd: naming a container that does not exist is a 404.
    expect(() => ids({ all: true, filters: { before: ['nosuch'] } })).toThrow(
      expect.objectContaining({ kind: 'not-found', message: 'No such container: nosuch' }),
    );
  });

  it('refuses unknown filter keys and bad status or exit code values', () => {
    const invalid = expect.objectContaining({ kind: 'invalid-argument' });
    expect(() => ids({ filters: { colour: ['red'] } })).toThrow("invalid filter 'colour'");
    expect(() => ids({ filters: { status: ['sleeping'] } })).toThrow(
      "invalid filter 'status=sleeping'",
    );
    expect(() => ids({ filters: { exited: ['zero'] } })).toThrow("invalid filter 'exited=zero'");
    expect(() => ids({ filters: { exited: ['zero'] } })).toThrowError(invalid);
  });

  it('matches nothing for an invalid name pattern rather than failing', () => {
    expect(ids({ all: true, filters: { name: ['[unclosed'] } })).toEqual([]);
    expect(ids({ all: true, filters: { name: ['[unclosed', '^db$'] } })).toEqual(['db']);
  });
});

describe('portSummary', () => {
  it('lists published ports of a running container and exposed ones without a host side', () => {
    const r = rec('p1', { state: running(1000) });
    r.Config.ExposedPorts = { '80/tcp': {}, '9000/udp': {} };
    r.NetworkSettings.Ports = {
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '127.0.0.1', HostPort: '40000' },
      ],
      '9000/udp': null,
    };
    expect(portSummary(r)).toEqual([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 40000, Type: 'tcp' },
      { PrivatePort: 9000, Type: 'udp' },
    ]);
    // Stopped: nothing is published any more.
    r.State = emptyState();
    expect(portSummary(r)).toEqual([
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 9000, Type: 'udp' },
    ]);
  });
});
