import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ContentStore } from './content-store.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}` as const;

describe('ContentStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-content-'));
  });
  afterEach(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('ingests, verifies, lists, reads and deletes', async () => {
    const cs = await ContentStore.open(root);
    const info = await cs.ingest(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(info).toEqual({ digest: sha('hello world'), size: 11 });
    expect(await cs.has(info.digest)).toBe(true);
    expect((await fsp.stat(cs.blobPath(info.digest))).mode & 0o777).toBe(0o444);
    expect((await cs.read(info.digest)).toString()).toBe('hello world');
    expect(await cs.list()).toEqual([info]);
    expect(
      await cs.ingest(Readable.from([Buffer.from('hello world')]), {
        digest: info.digest,
        size: 11,
      }),
    ).toEqual(info);
    expect(await cs.delete(info.digest)).toBe(true);
    expect(await cs.has(info.digest)).toBe(false);
    await expect(cs.info(info.digest)).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('refuses content that does not match what was expected and leaves no file', async () => {
    const cs = await ContentStore.open(root);
    await expect(cs.put('abc', { digest: sha('abd') })).rejects.toThrow(
      /unexpected content digest/,
    );
    await expect(cs.put('abc', { size: 2 })).rejects.toThrow(/exceeds expected/);
    await expect(cs.put('abc', { size: 4 })).rejects.toThrow(/unexpected content size/);
    expect(await cs.list()).toEqual([]);
    expect(await fsp.readdir(path.join(root, 'ingest'))).toEqual([]);
  });

  it('detects a blob damaged on disk when reading', async () => {
    const cs = await ContentStore.open(root);
    const { digest } = await cs.put('original');
    await fsp.chmod(cs.blobPath(digest), 0o644);
    await fsp.writeFile(cs.blobPath(digest), 'tampered');
    await expect(cs.read(digest)).rejects.toThrow(/corrupt on disk/);
  });

  it('a crash mid-ingest leaves only a temp file, removed on open', async () => {
    await ContentStore.open(root);
    await fsp.writeFile(path.join(root, 'ingest', 'deadbeef'), 'partial');
    const cs = await ContentStore.open(root);
    expect(await fsp.readdir(path.join(root, 'ingest'))).toEqual([]);
    expect(await cs.list()).toEqual([]);
  });

  it('fails the ingest when the source stream fails', async () => {
    const cs = await ContentStore.open(root);
    const src = new Readable({ read() {} });
    src.push('part');
    setImmediate(() => src.destroy(new Error('client went away')));
    await expect(cs.ingest(src)).rejects.toThrow(/client went away/);
    expect(await fsp.readdir(path.join(root, 'ingest'))).toEqual([]);
  });

  it('flushes in the background: the boot marker goes once the flush covered every blob', async () => {
    const cs = await ContentStore.open(root, undefined, { bootId: 'boot-a' });
    const { digest } = await cs.put('flushed later');
    // Written durably before the blob was committed; gone once a syncfs covered the blob.
    expect(await fsp.readdir(root)).toContain('unflushed-boot-a.json');
    await cs.close();
    expect(await fsp.readdir(root)).not.toContain('unflushed-boot-a.json');
    expect((await cs.read(digest)).toString()).toBe('flushed later');
  });

  it('after a reboot, re-hashes the blobs left unflushed and drops the damaged ones', async () => {
    const cs = await ContentStore.open(root, undefined, { bootId: 'boot-a' });
    const good = await cs.put('whole');
    const bad = await cs.put('torn by a power cut');
    // The machine went down before the flush: the marker stays, and one blob is damaged.
    const marker = await fsp.readFile(path.join(root, 'unflushed-boot-a.json'));
    await cs.close();
    await fsp.writeFile(path.join(root, 'unflushed-boot-a.json'), marker);
    await fsp.chmod(cs.blobPath(bad.digest), 0o644);
    await fsp.writeFile(cs.blobPath(bad.digest), 'torn by a');
    // Same boot (the daemon was killed): nothing is re-hashed, the marker is flushed away.
    const same = await ContentStore.open(root, undefined, { bootId: 'boot-a' });
    expect(await same.has(bad.digest)).toBe(true);
    await same.close();
    expect(await fsp.readdir(root)).not.toContain('unflushed-boot-a.json');
    // Another boot: the damaged blob goes, the whole one stays, the marker is consumed.
    await fsp.writeFile(path.join(root, 'unflushed-boot-a.json'), marker);
    const after = await ContentStore.open(root, undefined, { bootId: 'boot-b' });
    expect(await after.has(bad.digest)).toBe(false);
    expect((await after.read(good.digest)).toString()).toBe('whole');
    expect(await fsp.readdir(root)).not.toContain('unflushed-boot-a.json');
  });
});
