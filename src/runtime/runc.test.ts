import { describe, expect, it } from 'vitest';

import { silentLogger } from '../common/index.js';

import {
  Runc,
  deleteArgs,
  killArgs,
  listArgs,
  psArgs,
  runcError,
  runcErrorMessage,
  updateArgs,
} from './runc.js';

describe('runc argv', () => {
  it('builds subcommands', () => {
    const r = new Runc({
      binary: '/usr/sbin/runc',
      root: '/run/wharf/runc',
      logger: silentLogger(),
    });
    expect(r.argv(killArgs('c1', 'KILL', { all: true }))).toEqual([
      '/usr/sbin/runc',
      '--root',
      '/run/wharf/runc',
      '--log-format',
      'json',
      'kill',
      '--all',
      'c1',
      'KILL',
    ]);
    expect(killArgs('c1', 15)).toEqual(['kill', 'c1', '15']);
    expect(deleteArgs('c1', { force: true })).toEqual(['delete', '--force', 'c1']);
    expect(deleteArgs('c1')).toEqual(['delete', 'c1']);
    expect(psArgs('c1')).toEqual(['ps', '--format', 'json', 'c1']);
    expect(listArgs()).toEqual(['list', '--format', 'json']);
    expect(updateArgs('c1')).toEqual(['update', '--resources', '-', 'c1']);
  });
});

describe('runc errors', () => {
  it('extracts the message from JSON and text logs', () => {
    expect(
      runcErrorMessage('{"level":"error","msg":"container does not exist","time":"x"}\n'),
    ).toBe('container does not exist');
    expect(runcErrorMessage('time="x" level=error msg="exec: \\"nosuch\\": not found"\n')).toBe(
      'exec: "nosuch": not found',
    );
  });

  it('classifies by message', () => {
    expect(runcError('container does not exist').kind).toBe('not-found');
    expect(runcError('container not running').kind).toBe('conflict');
    expect(runcError('container not paused').kind).toBe('conflict');
    expect(runcError('cannot delete container c1 that is not stopped: running').kind).toBe(
      'conflict',
    );
    expect(runcError('something broke').kind).toBe('internal');
    expect(runcError('container not running').message).toBe('container not running');
  });
});
