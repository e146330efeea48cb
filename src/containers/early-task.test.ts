import { describe, expect, it } from 'vitest';

import { earlyEligible, spareFitsRecord, taskInputs } from './early-task.js';
import { emptyState, RECORD_SCHEMA_VERSION, type ContainerRecord } from './record.js';

function rec(opts: {
  mode?: string;
  networks?: string[];
  defaultBridge?: boolean;
  name?: string;
}): ContainerRecord {
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    Id: 'a'.repeat(64),
    Created: '2026-11-24T00:00:00Z',
    Path: 'true',
    Args: [],
    State: emptyState(),
    Image: 'sha256:' + 'b'.repeat(64),
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: '',
    Name: `/${opts.name ?? 'c'}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    Config: { Image: 'busybox', Cmd: ['true'] },
    HostConfig: opts.mode === undefined ? {} : { NetworkMode: opts.mode },
    NetworkSettings: { SandboxKey: '', Networks: {} },
    runtime: {
      imageRef: 'busybox',
      parentChainID: '',
      user: { uid: 0, gid: 0, additionalGids: [] },
      ...(opts.networks ? { networks: opts.networks.map((name) => ({ name, config: {} })) } : {}),
      ...(opts.defaultBridge !== undefined ? { defaultBridge: opts.defaultBridge } : {}),
    },
  };
}

describe('earlyEligible', () => {
  it("takes a namespace of the container's own or the host's, and the default bridge alone", () => {
    expect(earlyEligible(rec({ mode: 'none' }))).toBe(true);
    expect(earlyEligible(rec({ mode: 'host' }))).toBe(true);
    expect(earlyEligible(rec({ mode: 'bridge' }))).toBe(true);
    expect(earlyEligible(rec({ mode: 'default' }))).toBe(true);
    expect(earlyEligible(rec({}))).toBe(true);
  });

  it('leaves out what is looked up at start or names the container in a DNS', () => {
    expect(earlyEligible(rec({ mode: 'container:abc' }))).toBe(false);
    expect(earlyEligible(rec({ mode: 'mynet', networks: ['mynet'] }))).toBe(false);
    expect(earlyEligible(rec({ mode: 'bridge', networks: ['other'] }))).toBe(false);
    expect(earlyEligible(rec({ mode: 'bridge', defaultBridge: false }))).toBe(false);
  });
});

describe('spareFitsRecord', () => {
  it("fits what conmon's arguments for a spare fit: no TTY, no stdin, a log file", () => {
    expect(spareFitsRecord(rec({}))).toBe(true);
    expect(spareFitsRecord(rec({ mode: 'none' }))).toBe(true);
    const tty = rec({});
    tty.Config.Tty = true;
    expect(spareFitsRecord(tty)).toBe(false);
    const stdin = rec({});
    stdin.Config.OpenStdin = true;
    expect(spareFitsRecord(stdin)).toBe(false);
    const noLog = rec({});
    noLog.HostConfig.LogConfig = { Type: 'none', Config: {} };
    expect(spareFitsRecord(noLog)).toBe(false);
    expect(spareFitsRecord(rec({ mode: 'mynet', networks: ['mynet'] }))).toBe(false);
  });
});

describe('taskInputs', () => {
  it('is stable for one record and changes with what a task is made from', () => {
    const base = rec({ mode: 'bridge' });
    expect(taskInputs(base)).toBe(taskInputs(rec({ mode: 'bridge' })));
    expect(taskInputs(rec({ mode: 'bridge', name: 'other' }))).not.toBe(taskInputs(base));
    expect(taskInputs(rec({ mode: 'bridge', networks: ['n'] }))).not.toBe(taskInputs(base));
    expect(taskInputs(rec({ mode: 'bridge', defaultBridge: false }))).not.toBe(taskInputs(base));
    const changed = rec({ mode: 'bridge' });
    changed.HostConfig.Memory = 64 * 1024 * 1024;
    expect(taskInputs(changed)).not.toBe(taskInputs(base));
  });

  it('ignores what a start sets itself (state, user, conmon)', () => {
    const base = rec({ mode: 'none' });
    const started = rec({ mode: 'none' });
    started.State.Status = 'running';
    started.runtime.user = { uid: 5, gid: 5, additionalGids: [] };
    started.runtime.conmonPid = 42;
    expect(taskInputs(started)).toBe(taskInputs(base));
  });
});
