/**
 * Push to Debian's reference registry with wharf, the docker CLI and dockerode, and pull back:
 * import busybox, push, rmi, pull, run. Skipped blobs (HEAD), cross-repository mounts,
 * chunked uploads of large layers, and --compression zstd.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import {
  fileTar,
  makeOciLayout,
  skopeoCopy,
  startRegistry,
  type ManifestJson,
  type Msg,
  type RegistryHandle,
} from './registry.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let reg2: RegistryHandle;
let work: string;

beforeAll(async () => {
  reg = await startRegistry();
  reg2 = await startRegistry();
  d = await startDaemon();
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-push-'));
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  await reg2?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

async function manifestOf(host: string, repo: string, tag: string): Promise<ManifestJson> {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    headers: {
      Accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  expect(r.status).toBe(200);
  return (await r.json()) as ManifestJson;
}

describe('push', () => {
  it('wharf push, rmi, pull back and run', () => {
    const ref = `${reg.host}/wharf/busybox:1`;
    expect(d.wharf(['tag', 'busybox', ref]).code).toBe(0);
    const id = JSON.parse(d.cli(['image', 'inspect', ref]).stdout)[0].Id;
    const push = d.wharf(['push', ref]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(push.stdout).toContain(`The push refers to repository [${reg.host}/wharf/busybox]`);
    expect(push.stdout).toContain(': Pushed');
    expect(push.stdout).toMatch(/1: digest: sha256:[a-f0-9]{64} size: \d+/);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)![1];
    const again = d.wharf(['push', ref]);
    expect(again.stdout).toContain(': Layer already exists');
    expect(d.wharf(['rmi', ref, 'busybox']).code).toBe(0);
    expect(d.cli(['image', 'inspect', id]).code).not.toBe(0);
    const pull = d.wharf(['pull', ref]);
    expect(pull.stderr).toBe('');
    expect(pull.stdout).toContain(`Digest: ${digest}`);
    const inspect = JSON.parse(d.cli(['image', 'inspect', ref]).stdout)[0];
    expect(inspect.Id).toBe(id);
    expect(inspect.RepoDigests).toEqual([`${reg.host}/wharf/busybox@${digest}`]);
    const run = d.cli(['run', '--rm', ref, 'echo', 'pulled back']);
    expect(run.stdout).toBe('pulled back\n');
    // Restore the harness's busybox tag for the other tests.
    expect(d.wharf(['tag', ref, 'busybox']).code).toBe(0);
  });

  it('docker push mounts a blob known in another repository of the same registry', () => {
    const ref = `${reg.host}/other/copy:x`;
    expect(d.cli(['tag', 'busybox', ref]).code).toBe(0);
    const push = d.cli(['push', ref]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(push.stdout).toContain('Mounted from wharf/busybox');
    expect(push.stdout).toMatch(/x: digest: sha256:[a-f0-9]{64} size: \d+/);
  });

  it('dockerode push gets docker progress and the aux digest', async () => {
    const ref = `${reg.host}/dockerode/bb`;
    await d.docker.getImage('busybox').tag({ repo: ref, tag: 'v' });
    const stream = await d.docker.getImage(`${ref}:v`).push({ authconfig: {} });
    const msgs: Msg[] = await new Promise((resolve, reject) =>
      d.docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))),
    );
    expect(msgs[0]).toEqual({ status: `The push refers to repository [${reg.host}/dockerode/bb]` });
    expect(msgs.some((m) => m.status === 'Preparing')).toBe(true);
    const aux = msgs.find((m) => m.aux)?.aux;
    expect(aux).toMatchObject({
      Tag: 'v',
      Digest: expect.stringMatching(/^sha256:/),
      Size: expect.any(Number),
    });
  });

  it('--compression zstd recompresses the layers; the image ID stays the same', async () => {
    const ref = `${reg.host}/zstd/busybox:z`;
    expect(d.wharf(['tag', 'busybox', ref]).code).toBe(0);
    const id = JSON.parse(d.cli(['image', 'inspect', ref]).stdout)[0].Id;
    const push = d.wharf(['push', '--compression', 'zstd', ref]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const m = await manifestOf(reg.host, 'zstd/busybox', 'z');
    expect(m.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(m.config.digest).toBe(id);
    // The registry's blob is zstd; pulling it back fetches just that blob (the layer is here).
    const blob = await fetch(`http://${reg.host}/v2/zstd/busybox/blobs/${m.layers[0]!.digest}`);
    const head = Buffer.from(await blob.arrayBuffer()).subarray(0, 4);
    expect(head.toString('hex')).toBe('28b52ffd');
    // zstd's output is deterministic: a second push finds the blob there.
    const again = d.wharf(['push', '--compression', 'zstd', ref]);
    expect(again.stdout).toContain(': Layer already exists');
    expect(again.stdout).toContain(
      `z: digest: ${/digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)![1]}`,
    );
    const pull = d.wharf(['pull', `${reg.host}/zstd/busybox:z`]);
    expect(pull.code).toBe(0);
  });

  it('uploads a large layer in chunks to another registry, which then has it whole', async () => {
    const big = randomBytes(20 * 1024 * 1024);
    const layout = path.join(work, 'big');
    await makeOciLayout(layout, 'b', [
      { layers: [fileTar({ 'big.bin': big })], compression: 'none', cmd: ['true'] },
    ]);
    skopeoCopy(layout, 'b', `${reg.host}/big:b`);
    expect(d.wharf(['pull', '-q', `${reg.host}/big:b`]).code).toBe(0);
    const dest = `${reg2.host}/big:b`;
    expect(d.wharf(['tag', `${reg.host}/big:b`, dest]).code).toBe(0);
    const push = d.wharf(['push', dest]);
    expect(push.stderr).toBe('');
    expect(push.stdout).toContain(': Pushed');
    const m = await manifestOf(reg2.host, 'big', 'b');
    const blob = await fetch(`http://${reg2.host}/v2/big/blobs/${m.layers[0]!.digest}`, {
      method: 'HEAD',
    });
    expect(Number(blob.headers.get('content-length'))).toBe(m.layers[0]!.size);
  });

  it('verifies blobs as it reads them back: a blob corrupted on local disk fails the push', async () => {
    const layout = path.join(work, 'rot');
    await makeOciLayout(layout, 'r', [
      { layers: [fileTar({ 'rot.txt': 'y'.repeat(50_000) })], compression: 'none', cmd: ['true'] },
    ]);
    skopeoCopy(layout, 'r', `${reg.host}/rot/src:r`);
    expect(d.wharf(['pull', '-q', `${reg.host}/rot/src:r`]).code).toBe(0);
    const layer = JSON.parse(d.cli(['image', 'inspect', `${reg.host}/rot/src:r`]).stdout)[0];
    const m = await manifestOf(reg.host, 'rot/src', 'r');
    const digest = m.layers[0]!.digest;
    const file = path.join(d.dataRoot, 'content/blobs/sha256', digest.slice(7));
    const bytes = await fsp.readFile(file);
    bytes[700] = bytes[700]! ^ 0xff;
    await fsp.chmod(file, 0o644);
    await fsp.writeFile(file, bytes);
    const dest = `${reg2.host}/rot/dest:r`;
    expect(d.wharf(['tag', layer.Id, dest]).code).toBe(0);
    const push = d.wharf(['push', dest]);
    expect(push.code).toBe(1);
    expect(push.stderr).toContain(`content ${digest} is corrupt on disk`);
    const head = await fetch(`http://${reg2.host}/v2/rot/dest/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const tag = await fetch(`http://${reg2.host}/v2/rot/dest/manifests/r`, { method: 'HEAD' });
    expect(tag.status).toBe(404);
  });

  it('refuses to push an image that does not exist locally', () => {
    const r = d.cli(['push', `${reg.host}/nope:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`An image does not exist locally with the tag: ${reg.host}/nope`);
  });
});
