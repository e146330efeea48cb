/**
 * A pull killed mid-download (kill -9 of wharfd) leaves nothing that is later taken for
 * complete: after a restart no image is tagged, every blob in the store matches its digest,
 * and pulling again succeeds and runs. A blob corrupted on the registry's disk fails the pull
 * with a clear error and leaves nothing tagged or committed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  busyboxRootfsTar,
  eventually,
  startDaemon,
  type DaemonHandle,
} from '../../harness/daemon.js';
import {
  fileTar,
  type Msg,
  makeOciLayout,
  skopeoCopy,
  startRegistry,
  type RegistryHandle,
} from './registry.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let work: string;

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon({ withBusybox: false });
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-crash-'));
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Start a pull over the API; resolves when `until` sees a message, with the request. */
function startPull(ref: string, until: (m: Msg) => boolean) {
  return new Promise<http.ClientRequest>((resolve, reject) => {
    const [name, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
    const req = http.request(
      {
        socketPath: d.socket,
        method: 'POST',
        path: `/images/create?fromImage=${encodeURIComponent(name)}&tag=${tag}`,
      },
      (res) => {
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line && until(JSON.parse(line) as Msg)) resolve(req);
          }
        });
        res.on('error', () => undefined);
        res.on('end', () => reject(new Error('pull ended before the awaited message')));
      },
    );
    req.on('error', () => undefined);
    req.end();
  });
}

describe('interrupted and corrupt pulls', () => {
  it('survives kill -9 mid-download and pulls again', async () => {
    const layout = path.join(work, 'big');
    await makeOciLayout(layout, 'k', [
      {
        layers: [
          readFileSync(busyboxRootfsTar()),
          fileTar({ 'one.bin': randomBytes(48 * 1024 * 1024) }),
          fileTar({ 'two.bin': randomBytes(48 * 1024 * 1024) }),
          fileTar({ 'three.bin': randomBytes(48 * 1024 * 1024) }),
        ],
        compression: ['gzip', 'none', 'none', 'none'],
        cmd: ['ls', '/one.bin', '/three.bin'],
      },
    ]);
    const ref = `${reg.host}/crash/big:k`;
    skopeoCopy(layout, 'k', ref);
    await startPull(
      ref,
      (m) =>
        m.status === 'Downloading' &&
        (m.progressDetail?.current ?? 0) > 0 &&
        (m.progressDetail?.current ?? 0) < (m.progressDetail?.total ?? 0),
    );
    await d.crash();
    await d.restart();
    // Nothing half-done is visible: no image, and every committed blob is what its name says.
    expect(d.cli(['image', 'inspect', ref]).code).not.toBe(0);
    const blobDir = path.join(d.dataRoot, 'content/blobs/sha256');
    for (const name of await fsp.readdir(blobDir)) {
      expect(await sha256File(path.join(blobDir, name))).toBe(name);
    }
    expect(await fsp.readdir(path.join(d.dataRoot, 'content/ingest'))).toEqual([]);
    const pull = d.cli(['pull', ref], { timeoutMs: 120_000 });
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    const run = d.cli(['run', '--rm', ref]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('/one.bin\n/three.bin\n');
  }, 180_000);

  it('stops a pull whose client went away, leaving the daemon healthy and nothing half-done', async () => {
    const layout = path.join(work, 'gone');
    await makeOciLayout(layout, 'g', [
      {
        layers: [
          fileTar({ 'a.bin': randomBytes(32 * 1024 * 1024) }),
          fileTar({ 'b.bin': randomBytes(32 * 1024 * 1024) }),
        ],
        compression: 'gzip',
        cmd: ['true'],
      },
    ]);
    const ref = `${reg.host}/crash/gone:g`;
    skopeoCopy(layout, 'g', ref);
    const req = await startPull(
      ref,
      (m) => m.status === 'Downloading' && (m.progressDetail?.current ?? 0) > 0,
    );
    req.destroy();
    const overlayTmp = path.join(d.dataRoot, 'overlay/tmp');
    const ingest = path.join(d.dataRoot, 'content/ingest');
    await eventually(
      async () =>
        (await fsp.readdir(overlayTmp)).length === 0 && (await fsp.readdir(ingest)).length === 0,
      20_000,
      'the aborted pull to clean up',
    );
    expect(d.alive).toBe(true);
    expect(d.cli(['image', 'inspect', ref]).code).not.toBe(0);
    const pull = d.cli(['pull', '-q', ref], { timeoutMs: 120_000 });
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
  }, 120_000);

  it('fails clearly on a blob corrupted in the registry and leaves nothing behind', async () => {
    const layout = path.join(work, 'corrupt');
    const tar = fileTar({ 'data.txt': 'x'.repeat(100_000) });
    const { manifests } = await makeOciLayout(layout, 'c', [
      { layers: [tar], compression: 'none', cmd: ['true'] },
    ]);
    const ref = `${reg.host}/crash/corrupt:c`;
    skopeoCopy(layout, 'c', ref);
    const manifest = JSON.parse(
      await fsp.readFile(path.join(layout, 'blobs/sha256', manifests[0]!.digest.slice(7)), 'utf8'),
    );
    const layer = manifest.layers[0].digest as string;
    const file = reg.blobFile(layer);
    const bytes = await fsp.readFile(file);
    bytes[600] = bytes[600]! ^ 0xff; // inside data.txt's content: same size, other digest
    await fsp.writeFile(file, bytes);
    const r = d.cli(['pull', ref]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`failed to verify layer ${layer}`);
    expect(d.cli(['image', 'inspect', ref]).code).not.toBe(0);
    expect(await fsp.readdir(path.join(d.dataRoot, 'content/blobs/sha256'))).not.toContain(
      layer.slice(7),
    );
    const diffID = createHash('sha256').update(tar).digest('hex');
    const layers = await fsp.readdir(path.join(d.dataRoot, 'overlay'));
    expect(layers).not.toContain(diffID);
  });

  it('refuses a layer whose content does not match the config diff_id', async () => {
    const layout = path.join(work, 'lying');
    const tar = fileTar({ 'lie.txt': 'not what the config says\n' });
    const wrong = `sha256:${createHash('sha256').update('something else').digest('hex')}`;
    await makeOciLayout(layout, 'l', [
      { layers: [tar], compression: 'gzip', cmd: ['true'], diffIDs: [wrong] },
    ]);
    const ref = `${reg.host}/crash/lying:l`;
    skopeoCopy(layout, 'l', ref);
    const r = d.cli(['pull', ref]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`layer diffID mismatch`);
    expect(r.stderr).toContain(`expected ${wrong}`);
    expect(d.cli(['image', 'inspect', ref]).code).not.toBe(0);
    const real = createHash('sha256').update(tar).digest('hex');
    const layers = await fsp.readdir(path.join(d.dataRoot, 'overlay'));
    expect(layers).not.toContain(real);
    expect(layers).not.toContain(wrong.slice(7));
  });
});
