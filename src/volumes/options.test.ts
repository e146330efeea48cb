import { describe, expect, it } from 'vitest';

import { checkVolumeName, validVolumeName } from './names.js';
import { localMountOptions, mountArgs, validateLocalOptions } from './options.js';

describe('local driver options', () => {
  it('accepts type/device/o together and nothing', () => {
    expect(() => validateLocalOptions({})).not.toThrow();
    expect(() =>
      validateLocalOptions({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }),
    ).not.toThrow();
  });

  it('rejects unknown keys and incomplete sets with Docker messages', () => {
    expect(() => validateLocalOptions({ foo: 'x' })).toThrow('invalid option: "foo"');
    expect(() => validateLocalOptions({ type: 'tmpfs' })).toThrow(
      'missing required option: "device"',
    );
    expect(() => validateLocalOptions({ device: '/x' })).toThrow('missing required option: "type"');
    expect(() => validateLocalOptions({ o: 'bind', type: 'none' })).toThrow(
      'missing required option: "device"',
    );
    expect(() => validateLocalOptions({ size: '10m' })).toThrow('no quota support');
  });

  it('builds mount(8) argv', () => {
    const m = localMountOptions({ type: 'none', o: 'bind', device: '/srv/x' })!;
    expect(mountArgs(m, '/v/_data')).toEqual([
      'mount',
      '-t',
      'none',
      '-o',
      'bind',
      '--',
      '/srv/x',
      '/v/_data',
    ]);
    expect(localMountOptions({})).toBeUndefined();
    expect(localMountOptions(null)).toBeUndefined();
  });
});

describe('volume names', () => {
  it('follows the local driver rule', () => {
    expect(validVolumeName('data')).toBe(true);
    expect(validVolumeName('a.b_c-1')).toBe(true);
    expect(validVolumeName('a')).toBe(false);
    expect(validVolumeName('-x')).toBe(false);
    expect(validVolumeName('a/b')).toBe(false);
    expect(() => checkVolumeName('x')).toThrow(
      'create x: "x" includes invalid characters for a local volume name',
    );
  });
});
