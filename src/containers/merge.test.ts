import { describe, expect, it } from 'vitest';

import type { ContainerCreateRequest, HostConfig, ImageRuntimeConfig } from '../api-types/index.js';
import {
  DEFAULT_PATH,
  DEFAULT_SHM_SIZE,
  mergeConfig,
  mergeEnv,
  normalizeHostConfig,
  processArgs,
  validateCreateRequest,
} from './merge.js';

const invalid = expect.objectContaining({ kind: 'invalid-argument' });
const MB = 1024 * 1024;

describe('mergeEnv', () => {
  it('lets later lists override earlier keys', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'])).toEqual(['A=1', 'B=3', 'C=4']);
  });

  it('treats a bare name as its own key and skips null lists', () => {
    expect(mergeEnv(null, ['FOO'], undefined, ['FOO=bar'])).toEqual(['FOO=bar']);
    expect(mergeEnv(['FOO=bar'], ['FOO'])).toEqual(['FOO']);
  });

  it('keys on the first "=" only', () => {
    expect(mergeEnv(['X=a=b'], ['X=c=d'])).toEqual(['X=c=d']);
    expect(mergeEnv(['X=a=b'], ['Y=a'])).toEqual(['X=a=b', 'Y=a']);
  });

  it('returns an empty list for no input', () => {
    expect(mergeEnv()).toEqual([]);
  });
});

describe('validateCreateRequest', () => {
  it('turns a string Cmd, Entrypoint or Shell into a one-element list', () => {
    const out = validateCreateRequest({
      Image: 'busybox',
      Cmd: 'echo hi',
      Entrypoint: '/bin/sh',
      Shell: 'bash',
    } as unknown as ContainerCreateRequest);
    expect(out.Cmd).toEqual(['echo hi']);
    expect(out.Entrypoint).toEqual(['/bin/sh']);
    expect(out.Shell).toEqual(['bash']);
  });

  it('does not mutate its input and passes lists and nulls through', () => {
    const req = { Image: 'x', Cmd: 'true', Entrypoint: null } as unknown as ContainerCreateRequest;
    const out = validateCreateRequest(req);
    expect(req.Cmd).toBe('true');
    expect(out.Entrypoint).toBeNull();
    expect(validateCreateRequest({ Cmd: ['a', 'b'] }).Cmd).toEqual(['a', 'b']);
  });

  it('rejects non-string lists with a decoder-like message', () => {
    const bad = (r: Record<string, unknown>) => () =>
      validateCreateRequest(r as ContainerCreateRequest);
    expect(bad({ Cmd: 5 })).toThrow(
      'json: cannot unmarshal number into Go struct field Config.Cmd of type strslice.StrSlice',
    );
    expect(bad({ Cmd: 5 })).toThrowError(invalid);
    expect(bad({ Entrypoint: [1] })).toThrowError(invalid);
    expect(bad({ Env: 'A=1' })).toThrow('Config.Env of type []string');
    expect(bad({ Env: ['A=1', 2] })).toThrowError(invalid);
    expect(bad({ OnBuild: {} })).toThrow('Config.OnBuild');
  });

  it('rejects non-string scalars', () => {
    for (const key of ['Image', 'User', 'WorkingDir', 'Hostname', 'Domainname', 'StopSignal']) {
      expect(() => validateCreateRequest({ [key]: 1 } as ContainerCreateRequest)).toThrow(
        `Config.${key} of type string`,
      );
    }
  });

  it('rejects Labels that are not a string map', () => {
    for (const Labels of [[], 'a=b', { a: 1 }]) {
      expect(() =>
        validateCreateRequest({ Labels } as unknown as ContainerCreateRequest),
      ).toThrowError(invalid);
    }
    expect(validateCreateRequest({ Labels: { a: 'b' } }).Labels).toEqual({ a: 'b' });
  });

  it('rejects a HostConfig that is not an object', () => {
    for (const HostConfig of ['x', [], 3]) {
      expect(() =>
        validateCreateRequest({ HostConfig } as unknown as ContainerCreateRequest),
      ).toThrow('ContainerCreateRequest.HostConfig');
    }
  });
});

describe('mergeConfig', () => {
  const image: ImageRuntimeConfig = {
    Env: ['PATH=/usr/bin:/bin', 'LANG=C'],
    Cmd: ['sh'],
    Entrypoint: ['/entry'],
    WorkingDir: '/app',
    User: 'nobody',
    ExposedPorts: { '80/tcp': {} },
    Volumes: { '/data': {} },
    Labels: { from: 'image', shared: 'image' },
    StopSignal: 'SIGQUIT',
  };

  it('takes what the request leaves unset from the image', () => {
    const c = mergeConfig({ Image: 'img' }, image, 'abc123');
    expect(c).toMatchObject({
      Hostname: 'abc123',
      Domainname: '',
      Image: 'img',
      User: 'nobody',
      WorkingDir: '/app',
      Cmd: ['sh'],
      Entrypoint: ['/entry'],
      Env: ['PATH=/usr/bin:/bin', 'LANG=C'],
      ExposedPorts: { '80/tcp': {} },
      Volumes: { '/data': {} },
      Labels: { from: 'image', shared: 'image' },
      StopSignal: 'SIGQUIT',
      Tty: false,
      OpenStdin: false,
      AttachStdout: false,
    });
    expect(c).not.toHaveProperty('StopTimeout');
    expect(c).not.toHaveProperty('Healthcheck');
  });

  it('lets the request override the image', () => {
    const c = mergeConfig(
      {
        Image: 'img',
        Hostname: 'web',
        User: 'root',
        WorkingDir: '/srv',
        Cmd: ['echo', 'hi'],
        Env: ['LANG=en_US.UTF-8', 'X=1'],
        ExposedPorts: { '443/tcp': {} },
        Labels: { shared: 'req' },
        StopSignal: 'SIGTERM',
        StopTimeout: 3,
        Tty: true,
      },
      image,
      'abc123',
    );
    expect(c.Hostname).toBe('web');
    expect(c.User).toBe('root');
    expect(c.WorkingDir).toBe('/srv');
    expect(c.Cmd).toEqual(['echo', 'hi']);
    expect(c.Entrypoint).toEqual(['/entry']);
    expect(c.Env).toEqual(
      expect.arrayContaining(['PATH=/usr/bin:/bin', 'LANG=en_US.UTF-8', 'X=1']),
    );
    expect(c.Env).toHaveLength(3);
    expect(c.ExposedPorts).toEqual({ '80/tcp': {}, '443/tcp': {} });
    expect(c.Labels).toEqual({ from: 'image', shared: 'req' });
    expect(c.StopSignal).toBe('SIGTERM');
    expect(c.StopTimeout).toBe(3);
    expect(c.Tty).toBe(true);
  });

  it("clears the image's Cmd when Entrypoint is given without Cmd", () => {
    const c = mergeConfig({ Image: 'img', Entrypoint: ['/bin/echo'] }, image, 'h');
    expect(c.Entrypoint).toEqual(['/bin/echo']);
    expect(c.Cmd).toBeNull();
    expect(processArgs(c)).toEqual(['/bin/echo']);
  });

  it('keeps both when Entrypoint and Cmd are given', () => {
    const c = mergeConfig({ Entrypoint: ['/bin/echo'], Cmd: ['a'] }, image, 'h');
    expect(processArgs(c)).toEqual(['/bin/echo', 'a']);
  });

  it("uses the image's Cmd when the request's is empty", () => {
    const c = mergeConfig({ Cmd: [] }, { Cmd: ['sh'] }, 'h');
    expect(c.Cmd).toEqual(['sh']);
    expect(c.Entrypoint).toBeNull();
  });

  it('adds the default PATH when the image has no Env', () => {
    expect(mergeConfig({ Cmd: ['x'] }, {}, 'h').Env).toEqual([DEFAULT_PATH]);
    expect(mergeConfig({ Cmd: ['x'] }, { Env: [] }, 'h').Env).toEqual([DEFAULT_PATH]);
    expect(mergeConfig({ Cmd: ['x'], Env: ['A=1'] }, {}, 'h').Env).toEqual(['A=1', DEFAULT_PATH]); // Docker: the request's entries first
    expect(mergeConfig({ Cmd: ['x'], Env: ['PATH=/x'] }, {}, 'h').Env).toEqual(['PATH=/x']);
  });

  it('does not add the default PATH when the image has an Env without PATH', () => {
    expect(mergeConfig({ Cmd: ['x'] }, { Env: ['A=1'] }, 'h').Env).toEqual(['A=1']);
  });

  it('refuses a container with no command', () => {
    expect(() => mergeConfig({ Image: 'img' }, {}, 'h')).toThrow('No command specified');
    expect(() => mergeConfig({ Cmd: [] }, { Cmd: [] }, 'h')).toThrowError(invalid);
    expect(() => mergeConfig({ Entrypoint: [] }, { Cmd: [] }, 'h')).toThrow('No command specified');
  });

  it('takes the Healthcheck from the request, else the image', () => {
    const hc = { Test: ['CMD', 'true'] };
    expect(mergeConfig({ Cmd: ['x'] }, { Healthcheck: hc }, 'h').Healthcheck).toEqual(hc);
    expect(
      mergeConfig({ Cmd: ['x'], Healthcheck: { Test: ['NONE'] } }, { Healthcheck: hc }, 'h')
        .Healthcheck,
    ).toEqual({ Test: ['NONE'] });
  });

  it('keeps StopTimeout 0', () => {
    expect(mergeConfig({ Cmd: ['x'], StopTimeout: 0 }, {}, 'h').StopTimeout).toBe(0);
  });
});

describe('normalizeHostConfig', () => {
  it('fills the defaults Docker reports', () => {
    expect(normalizeHostConfig(undefined)).toMatchObject({
      NetworkMode: 'bridge',
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      ShmSize: DEFAULT_SHM_SIZE,
      LogConfig: { Type: 'json-file', Config: {} },
      CgroupnsMode: 'private',
      IpcMode: 'private',
      Privileged: false,
      ReadonlyRootfs: false,
      AutoRemove: false,
    });
  });

  it('does not mutate its input', () => {
    const hc: HostConfig = { NetworkMode: 'default' };
    normalizeHostConfig(hc);
    expect(hc).toEqual({ NetworkMode: 'default' });
  });

  it('maps NetworkMode default and "" to bridge, keeps host and none', () => {
    expect(normalizeHostConfig({ NetworkMode: 'default' }).NetworkMode).toBe('bridge');
    expect(normalizeHostConfig({ NetworkMode: '' }).NetworkMode).toBe('bridge');
    expect(normalizeHostConfig({ NetworkMode: 'host' }).NetworkMode).toBe('host');
    expect(normalizeHostConfig({ NetworkMode: 'none' }).NetworkMode).toBe('none');
  });

  it('leaves user-defined networks and container: mode to the network module', () => {
    expect(normalizeHostConfig({ NetworkMode: 'mynet' }).NetworkMode).toBe('mynet');
    expect(normalizeHostConfig({ NetworkMode: 'container:abc' }).NetworkMode).toBe('container:abc');
  });

  it('keeps user values', () => {
    const h = normalizeHostConfig({
      ShmSize: 128 * MB,
      LogConfig: { Type: 'none' },
      CgroupnsMode: 'host',
      IpcMode: 'host',
      Privileged: true,
      AutoRemove: true,
      RestartPolicy: { Name: '' },
    });
    expect(h).toMatchObject({
      ShmSize: 128 * MB,
      LogConfig: { Type: 'none', Config: {} },
      CgroupnsMode: 'host',
      IpcMode: 'host',
      Privileged: true,
      AutoRemove: true,
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    });
  });

  it('refuses restart policies it cannot honour', () => {
    for (const Name of ['always', 'unless-stopped', 'on-failure'] as const) {
      expect(() => normalizeHostConfig({ RestartPolicy: { Name } })).toThrow(
        `restart policy "${Name}" is not supported by this daemon yet`,
      );
    }
    expect(normalizeHostConfig({ RestartPolicy: { Name: 'no' } }).RestartPolicy!.Name).toBe('no');
  });

  it('refuses AutoRemove with a restart policy', () => {
    expect(() =>
      normalizeHostConfig({ AutoRemove: true, RestartPolicy: { Name: 'always' } }),
    ).toThrowError(invalid);
  });

  it('leaves port publishing to the network module (checked there at create)', () => {
    expect(
      normalizeHostConfig({ PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }).PortBindings,
    ).toEqual({ '80/tcp': [{ HostPort: '8080' }] });
    expect(normalizeHostConfig({ PublishAllPorts: true }).PublishAllPorts).toBe(true);
  });

  it('refuses memory below 6MB and swap below memory', () => {
    expect(() => normalizeHostConfig({ Memory: 6 * MB - 1 })).toThrow(
      'Minimum memory limit allowed is 6MB',
    );
    expect(normalizeHostConfig({ Memory: 6 * MB }).Memory).toBe(6 * MB);
    expect(() => normalizeHostConfig({ Memory: 64 * MB, MemorySwap: 32 * MB })).toThrow(
      'Minimum memoryswap limit should be larger than memory limit, see usage',
    );
    expect(() => normalizeHostConfig({ Memory: 64 * MB, MemorySwap: -1 })).not.toThrow();
    expect(() => normalizeHostConfig({ Memory: 64 * MB, MemorySwap: 64 * MB })).not.toThrow();
  });

  it('refuses NanoCpus with CpuQuota or CpuPeriod', () => {
    expect(() => normalizeHostConfig({ NanoCpus: 1e9, CpuQuota: 50000 })).toThrow(
      'Conflicting options: Nano CPUs and CPU Quota cannot both be set',
    );
    expect(() => normalizeHostConfig({ NanoCpus: 1e9, CpuPeriod: 100000 })).toThrow(
      'Conflicting options: Nano CPUs and CPU Period cannot both be set',
    );
    expect(() => normalizeHostConfig({ NanoCpus: 1e9 })).not.toThrow();
    expect(() => normalizeHostConfig({ CpuQuota: 50000, CpuPeriod: 100000 })).not.toThrow();
  });
});
