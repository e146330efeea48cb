import { describe, expect, it } from 'vitest';

import { csvFields, parseMountOpt } from './mount-opts.js';
import { splitVolumeFlags } from './run-options.js';

describe('--mount', () => {
  it('defaults to a volume; src/dst aliases; flags without values', () => {
    expect(parseMountOpt('src=v,dst=/data,ro,volume-nocopy')).toEqual({
      Type: 'volume',
      Source: 'v',
      Target: '/data',
      ReadOnly: true,
      VolumeOptions: { NoCopy: true },
    });
  });

  it('volume options and labels', () => {
    expect(
      parseMountOpt(
        'type=volume,source=v,target=/d,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=a=b',
      ),
    ).toEqual({
      Type: 'volume',
      Source: 'v',
      Target: '/d',
      VolumeOptions: {
        DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } },
        Labels: { a: 'b' },
      },
    });
  });

  it('bind and tmpfs options', () => {
    expect(
      parseMountOpt('type=bind,src=/h,dst=/c,bind-propagation=rshared,readonly=false'),
    ).toEqual({
      Type: 'bind',
      Source: '/h',
      Target: '/c',
      ReadOnly: false,
      BindOptions: { Propagation: 'rshared' },
    });
    expect(parseMountOpt('type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770')).toEqual({
      Type: 'tmpfs',
      Target: '/t',
      TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1770 },
    });
  });

  it("docker's errors", () => {
    expect(() => parseMountOpt('type=bind,src=/h')).toThrow('target is required');
    expect(() => parseMountOpt('type=bind,dst=/c,foo')).toThrow(
      "invalid field 'foo' must be a key=value pair",
    );
    expect(() => parseMountOpt('dst=/c,color=red')).toThrow(
      "unexpected key 'color' in 'color=red'",
    );
    expect(() => parseMountOpt('type=bind,src=/h,dst=/c,volume-nocopy')).toThrow(
      "cannot mix 'volume-*' options with mount type 'bind'",
    );
    expect(() => parseMountOpt('type=volume,dst=/c,tmpfs-size=1m')).toThrow(
      "cannot mix 'tmpfs-*' options with mount type 'volume'",
    );
    expect(() => parseMountOpt('dst=/c,ro=maybe')).toThrow('invalid value for ro: maybe');
    expect(() => parseMountOpt('type=tmpfs,dst=/c,tmpfs-mode=9')).toThrow(
      'invalid value for tmpfs-mode: 9',
    );
  });

  it('CSV quoting', () => {
    expect(csvFields('a,"b,c",d')).toEqual(['a', 'b,c', 'd']);
    expect(parseMountOpt('type=bind,"src=/a,b",dst=/c').Source).toBe('/a,b');
  });
});

describe('-v', () => {
  it('splits binds from anonymous volumes, resolves ./ host paths', () => {
    expect(splitVolumeFlags(['/anon', 'v:/d', '/h:/c:ro', './rel:/r', '/x:ro'], '/home/u')).toEqual(
      {
        binds: ['v:/d', '/h:/c:ro', '/home/u/rel:/r'],
        volumes: { '/anon': {}, '/x:ro': {} },
      },
    );
  });
});
