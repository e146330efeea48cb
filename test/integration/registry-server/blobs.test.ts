/**
 * The distribution API over raw HTTP (node's fetch), part 1: the base endpoint, blobs and
 * upload sessions — status codes, headers, error codes — against `wharf registry serve`
 * started from ./bin/wharf.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  pushBlob,
  randomBlob,
  rmrf,
  sha256,
  startRegistry,
  uniqueRepo,
  type RegistryHandle,
} from './helpers.js';

let reg: RegistryHandle;
let url: string;

beforeAll(async () => {
  reg = await startRegistry();
  url = reg.url;
});

afterAll(async () => {
  const code = await reg?.stop();
  expect(code).toBe(0); // SIGTERM is a clean shutdown
  rmrf(reg.root);
});

async function errorCode(r: Response): Promise<string> {
  const body = (await r.json()) as { errors: Array<{ code: string }> };
  return body.errors[0]!.code;
}

describe('base', () => {
  it('GET /v2/ answers 200 with the API version header', async () => {
    const r = await fetch(`${url}/v2/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await r.json()).toEqual({});
  });

  it('unknown methods are UNSUPPORTED, invalid names NAME_INVALID', async () => {
    const r1 = await fetch(`${url}/v2/a/tags/list`, { method: 'DELETE' });
    expect(r1.status).toBe(405);
    expect(await errorCode(r1)).toBe('UNSUPPORTED');
    for (const bad of ['UPPER/case', 'a//b', 'a/-b', 'a__-b']) {
      const r = await fetch(`${url}/v2/${bad}/tags/list`);
      expect(r.status, bad).toBe(400);
      expect(await errorCode(r)).toBe('NAME_INVALID');
    }
  });
});

describe('blobs', () => {
  it('monolithic upload, GET, HEAD, Range, DELETE', async () => {
    const repo = uniqueRepo('blob');
    const data = randomBlob(100_000);
    const digest = sha256(data);
    const up = await pushBlob(url, repo, data);
    expect(up.status).toBe(201);
    expect(up.headers.get('location')).toBe(`/v2/${repo}/blobs/${digest}`);
    expect(up.headers.get('docker-content-digest')).toBe(digest);

    const head = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');
    expect(head.headers.get('docker-content-digest')).toBe(digest);

    const get = await fetch(`${url}/v2/${repo}/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);

    const part = await fetch(`${url}/v2/${repo}/blobs/${digest}`, {
      headers: { Range: 'bytes=10-19' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 10-19/100000');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);

    const tail = await fetch(`${url}/v2/${repo}/blobs/${digest}`, {
      headers: { Range: 'bytes=-5' },
    });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(-5))).toBe(true);

    const bad = await fetch(`${url}/v2/${repo}/blobs/${digest}`, {
      headers: { Range: 'bytes=100000-' },
    });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */100000');
    await bad.arrayBuffer();

    // Another repository does not see it.
    const other = await fetch(`${url}/v2/${uniqueRepo('other')}/blobs/${digest}`);
    expect(other.status).toBe(404);
    expect(await errorCode(other)).toBe('BLOB_UNKNOWN');

    const del = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    const gone = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    expect(gone.status).toBe(404);
    const again = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'DELETE' });
    expect(await errorCode(again)).toBe('BLOB_UNKNOWN');
  });

  it('serves large blobs whole and in ranges, and survives a client that leaves mid-blob', async () => {
    const repo = uniqueRepo('big');
    const blob = randomBlob(9 * 1024 * 1024 + 123); // several read buffers, an odd tail
    const digest = sha256(blob);
    await pushBlob(url, repo, blob);
    const whole = Buffer.from(
      await (await fetch(`${url}/v2/${repo}/blobs/${digest}`)).arrayBuffer(),
    );
    expect(sha256(whole)).toBe(digest);
    const part = await fetch(`${url}/v2/${repo}/blobs/${digest}`, {
      headers: { Range: 'bytes=1048570-3145740' },
    });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(blob.subarray(1048570, 3145741))).toBe(
      true,
    );
    for (let i = 0; i < 3; i++) {
      const abort = new AbortController();
      const r = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { signal: abort.signal });
      await r.body!.getReader().read(); // the first bytes, then the client is gone
      abort.abort();
    }
    const again = Buffer.from(
      await (await fetch(`${url}/v2/${repo}/blobs/${digest}`)).arrayBuffer(),
    );
    expect(sha256(again)).toBe(digest);
  });

  it('rejects a wrong or malformed digest and leaves nothing behind', async () => {
    const repo = uniqueRepo('digest');
    const data = randomBlob(1000);
    const wrong = sha256(randomBlob(10));
    const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${wrong}`, {
      method: 'POST',
      body: data,
    });
    expect(r.status).toBe(400);
    expect(await errorCode(r)).toBe('DIGEST_INVALID');
    expect(existsSync(path.join(reg.root, 'blobs/sha256', sha256(data).slice(7)))).toBe(false);
    expect(existsSync(path.join(reg.root, 'blobs/sha256', wrong.slice(7)))).toBe(false);

    for (const d of ['sha256:xyz', 'md5:abc', 'nocolon']) {
      const g = await fetch(`${url}/v2/${repo}/blobs/${d}`);
      expect(g.status, d).toBe(400);
      expect(await errorCode(g)).toBe('DIGEST_INVALID');
    }
  });

  it('chunked upload: POST, PATCH with Content-Range, status, 416 out of order, PUT', async () => {
    const repo = uniqueRepo('chunk');
    const data = randomBlob(300_000);
    const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    expect(start.headers.get('range')).toBe('0-0');
    const uuid = start.headers.get('docker-upload-uuid');
    let loc = start.headers.get('location')!;
    expect(loc).toBe(`/v2/${repo}/blobs/uploads/${uuid}`);

    const patch = (from: number, to: number): Promise<Response> =>
      fetch(`${url}${loc}`, {
        method: 'PATCH',
        headers: {
          'Content-Range': `${from}-${to - 1}`,
          'Content-Type': 'application/octet-stream',
        },
        body: data.subarray(from, to),
      });
    const p1 = await patch(0, 100_000);
    expect(p1.status).toBe(202);
    expect(p1.headers.get('range')).toBe('0-99999');
    loc = p1.headers.get('location')!;

    // A chunk that does not start where the upload ends.
    const gap = await patch(150_000, 200_000);
    expect(gap.status).toBe(416);
    expect(await errorCode(gap)).toBe('RANGE_INVALID');

    const status = await fetch(`${url}${loc}`);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99999');

    expect((await patch(100_000, 200_000)).status).toBe(202);
    // A streamed chunk (no Content-Range) appends too.
    const streamed = await fetch(`${url}${loc}`, {
      method: 'PATCH',
      body: data.subarray(200_000, 250_000),
    });
    expect(streamed.headers.get('range')).toBe('0-249999');

    // Early PUT with a digest of the whole: the last bytes come with the PUT.
    const put = await fetch(`${url}${loc}?digest=${sha256(data)}`, {
      method: 'PUT',
      body: data.subarray(250_000),
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(data));
    const get = await fetch(`${url}/v2/${repo}/blobs/${sha256(data)}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);

    // The session is over.
    const after = await fetch(`${url}${loc}`);
    expect(after.status).toBe(404);
    expect(await errorCode(after)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('docker-style push: failed mount, chunked-encoding PATCH, empty PUT', async () => {
    const repo = uniqueRepo('dockerish');
    const data = randomBlob(700_000);
    const digest = sha256(data);
    const start = await fetch(
      `${url}/v2/${repo}/blobs/uploads/?mount=${digest}&from=library/nothing`,
      {
        method: 'POST',
      },
    );
    expect(start.status).toBe(202);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < data.length; i += 65_536) c.enqueue(data.subarray(i, i + 65_536));
        c.close();
      },
    });
    const patch = await fetch(`${url}${start.headers.get('location')}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(patch.status).toBe(202);
    expect(patch.headers.get('range')).toBe(`0-${data.length - 1}`);
    const put = await fetch(`${url}${patch.headers.get('location')}?digest=${digest}`, {
      method: 'PUT',
    });
    expect(put.status).toBe(201);
    const head = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(data.length));
  });

  it('cancelling an upload, and unknown upload IDs', async () => {
    const repo = uniqueRepo('cancel');
    const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    await fetch(`${url}${loc}`, { method: 'PATCH', body: randomBlob(10) });
    const del = await fetch(`${url}${loc}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const st = await fetch(`${url}${loc}`);
    expect(await errorCode(st)).toBe('BLOB_UPLOAD_UNKNOWN');
    for (const id of ['0123', '../../etc', 'f'.repeat(32)]) {
      const r = await fetch(`${url}/v2/${repo}/blobs/uploads/${encodeURIComponent(id)}`);
      expect(r.status, id).toBe(404);
    }
    // PUT without a digest.
    const s2 = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const noDigest = await fetch(`${url}${s2.headers.get('location')}`, { method: 'PUT' });
    expect(noDigest.status).toBe(400);
    expect(await errorCode(noDigest)).toBe('DIGEST_INVALID');
  });

  it('cross-repository mount: 201 when the source has the blob, else a new session', async () => {
    const from = uniqueRepo('src');
    const to = uniqueRepo('dst');
    const data = randomBlob(5000);
    const digest = sha256(data);
    await pushBlob(url, from, data);
    const m = await fetch(`${url}/v2/${to}/blobs/uploads/?mount=${digest}&from=${from}`, {
      method: 'POST',
    });
    expect(m.status).toBe(201);
    expect(m.headers.get('location')).toBe(`/v2/${to}/blobs/${digest}`);
    expect((await fetch(`${url}/v2/${to}/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);

    const missing = sha256(randomBlob(8));
    const f = await fetch(`${url}/v2/${to}/blobs/uploads/?mount=${missing}&from=${from}`, {
      method: 'POST',
    });
    expect(f.status).toBe(202);
    expect(f.headers.get('location')).toMatch(new RegExp(`^/v2/${to}/blobs/uploads/[0-9a-f]{32}$`));
    await fetch(`${url}${f.headers.get('location')}`, { method: 'DELETE' });
  });
});
