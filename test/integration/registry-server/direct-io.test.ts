/**
 * Blob bodies with and without O_DIRECT (`registry serve --direct-io=false`): the same uploads
 * and reads give the same bytes either way, and the flag really picks the path — between two
 * requests a direct upload's file is whole 4 KiB blocks (its last one padded), a buffered
 * one's is exactly what arrived.
 */
import { statSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  randomBlob,
  rmrf,
  sha256,
  startRegistry,
  uniqueRepo,
  type RegistryHandle,
} from './helpers.js';

const registries: RegistryHandle[] = [];
afterAll(async () => {
  for (const reg of registries) {
    await reg.stop();
    rmrf(reg.root);
  }
});

describe.each([
  ['direct (default)', [] as string[], true],
  ['buffered (--direct-io=false)', ['--direct-io=false'], false],
])('%s', (_name, args, direct) => {
  let reg: RegistryHandle;

  it('starts', async () => {
    reg = await startRegistry({ args });
    registries.push(reg);
  });

  it('chunked upload of odd sizes, then whole, ranged and abandoned reads', async () => {
    const { url } = reg;
    const repo = uniqueRepo('dio');
    const data = randomBlob(5 * 1024 * 1024 + 4321);
    const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    let loc = start.headers.get('location')!;
    const file = path.join(reg.root, 'uploads', loc.split('/').pop()!);
    const cuts = [0, 1000, 1000 + 3 * 1024 * 1024 + 5, 1000 + 3 * 1024 * 1024 + 4101];
    for (let i = 1; i < cuts.length; i++) {
      const r = await fetch(`${url}${loc}`, {
        method: 'PATCH',
        headers: { 'Content-Range': `${cuts[i - 1]}-${cuts[i]! - 1}` },
        body: data.subarray(cuts[i - 1], cuts[i]),
      });
      expect(r.status).toBe(202);
      expect(r.headers.get('range')).toBe(`0-${cuts[i]! - 1}`);
      loc = r.headers.get('location')!;
      const onDisk = statSync(file).size;
      expect(onDisk).toBe(direct ? Math.ceil(cuts[i]! / 4096) * 4096 : cuts[i]);
    }
    const put = await fetch(`${url}${loc}?digest=${sha256(data)}`, {
      method: 'PUT',
      body: data.subarray(cuts.at(-1)),
    });
    expect(put.status).toBe(201);
    // The committed blob is exactly the data: the padding is gone.
    expect(statSync(path.join(reg.root, 'blobs', 'sha256', sha256(data).slice(7))).size).toBe(
      data.length,
    );

    const blobUrl = `${url}/v2/${repo}/blobs/${sha256(data)}`;
    const whole = Buffer.from(await (await fetch(blobUrl)).arrayBuffer());
    expect(whole.equals(data)).toBe(true);
    for (const [from, to] of [
      [4095, 4096],
      [1, 2 * 1024 * 1024 + 3],
      [data.length - 5000, data.length - 1],
    ] as const) {
      const r = await fetch(blobUrl, { headers: { Range: `bytes=${from}-${to}` } });
      expect(r.status).toBe(206);
      expect(Buffer.from(await r.arrayBuffer()).equals(data.subarray(from, to + 1))).toBe(true);
    }
    for (let i = 0; i < 3; i++) {
      const abort = new AbortController();
      const r = await fetch(blobUrl, { signal: abort.signal });
      await r.body!.getReader().read();
      abort.abort();
    }
    const again = Buffer.from(await (await fetch(blobUrl)).arrayBuffer());
    expect(sha256(again)).toBe(sha256(data));
  });
});
