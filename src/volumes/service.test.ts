import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../common/index.js';
import { ANONYMOUS_LABEL } from './names.js';
import { VolumeService } from './service.js';

let root: string;
const log = silentLogger();
const events: string[] = [];
const open = async (): Promise<VolumeService> => {
  const s = new VolumeService(root, log, (action, name) => events.push(`${action} ${name}`));
  await s.open();
  return s;
};

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wharf-volsvc-'));
  events.length = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('VolumeService (plain volumes on a temp dir)', () => {
  it('creates once, keeps the record across a reopen', async () => {
    const s = await open();
    const v = await s.create({ name: 'data', labels: { a: '1' } });
    expect(v).toMatchObject({
      Name: 'data',
      Driver: 'local',
      Labels: { a: '1' },
      Mountpoint: path.join(root, 'data', '_data'),
      Options: null,
      Scope: 'local',
    });
    expect(await s.create({ name: 'data' })).toEqual(v);
    expect(events).toEqual(['create data']);
    const again = await open();
    expect(again.inspect('data')).toEqual(v);
  });

  it('refuses removal while referenced, names the users, force ignores missing', async () => {
    const s = await open();
    await s.create({ name: 'busy', referenceBy: 'c1' });
    s.reference('busy', 'c2');
    await expect(s.remove('busy')).rejects.toThrow('remove busy: volume is in use - [c1, c2]');
    await expect(s.remove('busy', { force: true })).rejects.toMatchObject({ kind: 'conflict' });
    s.unreference('busy', 'c1');
    s.unreference('busy', 'c2');
    await s.remove('busy');
    expect(existsSync(path.join(root, 'busy'))).toBe(false);
    await expect(s.remove('busy')).rejects.toThrow('get busy: no such volume');
    await s.remove('busy', { force: true });
    expect(() => s.reference('busy', 'c3')).toThrow('get busy: no such volume');
  });

  it('prunes unused anonymous volumes unless all, reporting their size', async () => {
    const s = await open();
    const anon = await s.create({ anonymous: true });
    expect(anon.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(anon.Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
    writeFileSync(path.join(anon.Mountpoint, 'f'), Buffer.alloc(1234));
    await s.create({ name: 'named' });
    const used = await s.create({ anonymous: true, referenceBy: 'c1' });
    expect(await s.prune(new Map(), { allByDefault: false })).toEqual({
      VolumesDeleted: [anon.Name],
      SpaceReclaimed: 1234,
    });
    expect(await s.prune(new Map([['all', ['true']]]), { allByDefault: false })).toEqual({
      VolumesDeleted: ['named'],
      SpaceReclaimed: 0,
    });
    expect(s.list(new Map()).Volumes.map((v) => v.Name)).toEqual([used.Name]);
    expect(events.filter((e) => e.startsWith('destroy') || e.startsWith('prune'))).toEqual([
      `destroy ${anon.Name}`,
      'prune ',
      'destroy named',
      'prune ',
    ]);
  });

  it('a crash mid-create or mid-remove leaves nothing half-done after reopen', async () => {
    mkdirSync(path.join(root, '.staging-aaaa', '_data'), { recursive: true });
    mkdirSync(path.join(root, '.trash-bbbb', '_data'), { recursive: true });
    // A volume directory without a record (copied in by hand) is adopted, as Docker's.
    mkdirSync(path.join(root, 'handmade', '_data'), { recursive: true });
    const s = await open();
    expect(readdirSync(root).sort()).toEqual(['handmade']);
    expect(s.list(new Map()).Volumes.map((v) => v.Name)).toEqual(['handmade']);
  });

  it('validates names, drivers and options', async () => {
    const s = await open();
    await expect(s.create({ name: 'a' })).rejects.toThrow('includes invalid characters');
    await expect(s.create({ name: 'vv', driver: 'nfs' })).rejects.toMatchObject({
      kind: 'not-found',
    });
    await expect(s.create({ name: 'vv', driverOpts: { type: 'tmpfs' } })).rejects.toThrow(
      'create vv: missing required option: "device"',
    );
    expect(s.list(new Map()).Volumes).toEqual([]);
  });
});
