import { describe, expect, it } from 'vitest';

import {
  anonymousTarget,
  checkMountFieldTypes,
  parseBind,
  parseMount,
  parseVolumesFrom,
  validMountMode,
} from './mounts-parse.js';

describe('parseBind (-v)', () => {
  it('named volume, default rw and copy', () => {
    expect(parseBind('data:/srv/')).toEqual({
      Type: 'volume',
      Source: 'data',
      Destination: '/srv',
      RW: true,
      Mode: '',
      Propagation: '',
      copyData: true,
    });
  });

  it('named volume ro and nocopy', () => {
    const m = parseBind('data:/srv:ro,nocopy');
    expect(m.RW).toBe(false);
    expect(m.copyData).toBe(false);
    expect(m.Mode).toBe('ro,nocopy');
  });

  it('bind with default and explicit propagation', () => {
    expect(parseBind('/host/dir/:/ctr')).toMatchObject({
      Type: 'bind',
      Source: '/host/dir',
      Destination: '/ctr',
      RW: true,
      Propagation: 'rprivate',
      copyData: false,
      createSource: true,
    });
    expect(parseBind('/h:/c:ro,rslave')).toMatchObject({ RW: false, Propagation: 'rslave' });
  });

  it('a lone path is an anonymous volume', () => {
    expect(parseBind('/anon')).toMatchObject({ Type: 'volume', Source: '', Destination: '/anon' });
  });

  it('rejects what Docker rejects, in its words', () => {
    expect(() => parseBind('')).toThrow("invalid volume specification: ''");
    expect(() => parseBind('/data:rw')).toThrow("invalid volume specification: '/data:rw'");
    expect(() => parseBind('a:b:c:d')).toThrow("invalid volume specification: 'a:b:c:d'");
    expect(() => parseBind('/h:/c:bogus')).toThrow('invalid mode: bogus');
    expect(() => parseBind('/h:/c:ro,rw')).toThrow('invalid mode: ro,rw');
    expect(() => parseBind('/h:/')).toThrow(
      `invalid volume specification: '/h:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`,
    );
    expect(() => parseBind('vol:rel')).toThrow(
      `invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`,
    );
    expect(() => parseBind('vol:/c:rshared')).toThrow('field BindOptions must not be specified');
  });
});

describe('parseMount (--mount)', () => {
  const exists = (p: string): boolean => p === '/exists';

  it('bind: source must exist', () => {
    expect(
      parseMount({ Type: 'bind', Source: '/exists', Target: '/t', ReadOnly: true }, exists),
    ).toMatchObject({
      Type: 'bind',
      RW: false,
      Propagation: 'rprivate',
    });
    expect(() => parseMount({ Type: 'bind', Source: '/x', Target: '/t' }, exists)).toThrow(
      'invalid mount config for type "bind": bind source path does not exist: /x',
    );
    expect(() =>
      parseMount(
        {
          Type: 'bind',
          Source: '/exists',
          Target: '/t',
          BindOptions: { Propagation: 'odd' as never },
        },
        exists,
      ),
    ).toThrow('invalid propagation mode: odd');
    expect(() => parseMount({ Type: 'bind', Target: '/t' }, exists)).toThrow(
      'field Source must not be empty',
    );
  });

  it('volume: options, nocopy, anonymous read-only refused', () => {
    const m = parseMount(
      {
        Type: 'volume',
        Source: 'v',
        Target: '/t',
        VolumeOptions: {
          NoCopy: true,
          Labels: { a: 'b' },
          DriverConfig: { Options: { type: 'tmpfs' } },
        },
      },
      exists,
    );
    expect(m).toMatchObject({
      copyData: false,
      volume: { labels: { a: 'b' }, driverOpts: { type: 'tmpfs' } },
    });
    expect(() => parseMount({ Type: 'volume', Target: '/t', ReadOnly: true }, exists)).toThrow(
      'must not set ReadOnly mode when using anonymous volumes',
    );
    expect(() =>
      parseMount({ Type: 'volume', Source: 'v', Target: '/t', BindOptions: {} }, exists),
    ).toThrow('field BindOptions must not be specified');
  });

  it('tmpfs: size and mode as Docker converts them', () => {
    expect(
      parseMount(
        { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 2 * 1024 * 1024, Mode: 0o1770 } },
        exists,
      ).tmpfsData,
    ).toBe('mode=1770,size=2m');
    expect(
      parseMount(
        { Type: 'tmpfs', Target: '/t', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } },
        exists,
      ).tmpfsData,
    ).toBe('ro,size=1000');
    expect(() => parseMount({ Type: 'tmpfs', Source: 'x', Target: '/t' }, exists)).toThrow(
      'field Source must not be specified',
    );
  });

  it('type and target', () => {
    expect(() => parseMount({ Type: 'nfs' as never, Target: '/t' }, exists)).toThrow(
      'invalid mount config for type "nfs": mount type unknown',
    );
    expect(() => parseMount({ Type: 'volume' }, exists)).toThrow('field Target must not be empty');
  });
});

describe('volumes-from and modes', () => {
  it('parses container and mode', () => {
    expect(parseVolumesFrom('c1')).toEqual({ ref: 'c1', mode: 'rw' });
    expect(parseVolumesFrom('c1:ro')).toEqual({ ref: 'c1', mode: 'ro' });
    expect(() => parseVolumesFrom('')).toThrow(
      'volumes-from specification cannot be an empty string',
    );
    expect(() => parseVolumesFrom('c1:rshared')).toThrow('invalid mode: rshared');
    expect(() => parseVolumesFrom('c1:nocopy')).toThrow('invalid mode: nocopy');
  });

  it('mode grammar', () => {
    expect(validMountMode('ro,z,rslave,nocopy,cached')).toBe(true);
    expect(validMountMode('ro,ro')).toBe(false);
    expect(validMountMode('x')).toBe(false);
  });

  it('anonymous targets', () => {
    expect(anonymousTarget('/data/')).toBe('/data');
    expect(() => anonymousTarget('data')).toThrow('mount path must be absolute');
  });
});

describe('JSON types of mount fields', () => {
  it('malformed fields are invalid arguments, not crashes', () => {
    expect(() => checkMountFieldTypes({ Binds: 'x' }, undefined)).toThrow(
      'json: cannot unmarshal string into Go struct field HostConfig.Binds of type []string',
    );
    expect(() => checkMountFieldTypes({ VolumesFrom: [1] }, undefined)).toThrow('VolumesFrom');
    expect(() => checkMountFieldTypes({ Mounts: ['x'] }, undefined)).toThrow('Mounts');
    expect(() => checkMountFieldTypes({ Tmpfs: { '/t': 1 } }, undefined)).toThrow('Tmpfs');
    expect(() => checkMountFieldTypes({}, 'x')).toThrow('Config.Volumes');
    expect(() => checkMountFieldTypes({ Binds: null, Mounts: [] }, { '/d': {} })).not.toThrow();
    expect(() => parseMount({ Type: 'volume', Target: 5 as never }, () => true)).toThrow(
      'json: cannot unmarshal number',
    );
  });
});

describe('volume subpaths', () => {
  it('accepts a relative path inside the volume, nothing copied', () => {
    expect(
      parseMount(
        { Type: 'volume', Source: 'v', Target: '/t', VolumeOptions: { Subpath: 'a/./b' } },
        () => true,
      ),
    ).toMatchObject({ subpath: 'a/b', copyData: false });
  });

  it("refuses anonymous volumes and paths leaving the volume, in Docker's words", () => {
    expect(() =>
      parseMount({ Type: 'volume', Target: '/t', VolumeOptions: { Subpath: 'a' } }, () => true),
    ).toThrow('must not set Subpath when using anonymous volumes');
    for (const Subpath of ['../x', '/abs', 'a/../..']) {
      expect(() =>
        parseMount(
          { Type: 'volume', Source: 'v', Target: '/t', VolumeOptions: { Subpath } },
          () => true,
        ),
      ).toThrow('subpath must be a relative path within the volume');
    }
  });
});
