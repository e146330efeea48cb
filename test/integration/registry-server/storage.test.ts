/**
 * Crash safety and concurrency of the registry's storage: a PATCH cut off halfway, a server
 * killed with SIGKILL mid-upload, many clients pushing the same blob at once, and the
 * one-process-per-root lock.
 */
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { eventually } from '../../harness/daemon.js';
import {
  pushBlob,
  randomBlob,
  rmrf,
  runWharf,
  sha256,
  startRegistry,
  tempDir,
  uniqueRepo,
  type RegistryHandle,
} from './helpers.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
afterAll(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function registry(root?: string): Promise<RegistryHandle> {
  const reg = await startRegistry({ root });
  cleanup.push(() => reg.kill());
  return reg;
}

/** Send a PATCH's headers and only `sent` bytes of its body, and keep the socket open. */
async function partialPatch(
  reg: RegistryHandle,
  location: string,
  body: Buffer,
  sent: number,
): Promise<net.Socket> {
  const { hostname, port } = new URL(reg.url);
  const sock = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', () => undefined);
  sock.write(
    `PATCH ${location} HTTP/1.1\r\nHost: ${reg.host}\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`,
  );
  await new Promise<void>((resolve) => sock.write(body.subarray(0, sent), () => resolve()));
  return sock;
}

/** Poll until the session's file (uploads/<id>) holds at least `size` bytes. */
async function uploadFileReaches(root: string, location: string, size: number): Promise<void> {
  const file = path.join(root, 'uploads', location.split('/').pop()!);
  await eventually(() => statSync(file).size >= size, 10_000, `${file} to reach ${size} bytes`);
}

function blobFiles(root: string): string[] {
  return readdirSync(path.join(root, 'blobs', 'sha256'));
}

describe('registry storage', () => {
  it('a PATCH cut off halfway leaves no blob, and the upload resumes from what arrived', async () => {
    const reg = await registry();
    cleanup.push(() => rmrf(reg.root));
    const repo = uniqueRepo('cut');
    const data = randomBlob(3 * 1024 * 1024 + 12345);
    const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    const sock = await partialPatch(reg, loc, data, 2 * 1024 * 1024 + 777);
    // Let the server write what it can (whole 1 MiB batches), then drop the connection.
    await uploadFileReaches(reg.root, loc, 1024 * 1024);
    sock.destroy();

    // Nothing is visible as a blob: not the whole, not the part.
    for (const d of [sha256(data), sha256(data.subarray(0, 2 * 1024 * 1024 + 777))]) {
      const h = await fetch(`${reg.url}/v2/${repo}/blobs/${d}`, { method: 'HEAD' });
      expect(h.status).toBe(404);
    }
    expect(blobFiles(reg.root)).toEqual([]);

    // The session knows exactly how much it kept (whole write batches), and resumes there.
    const status = await eventually<Response | undefined>(async () => {
      const r = await fetch(`${reg.url}${loc}`);
      return r.status === 204 ? r : undefined;
    });
    const kept = Number(status!.headers.get('range')!.split('-')[1]) + 1;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(2 * 1024 * 1024 + 777);
    const rest = await fetch(`${reg.url}${loc}`, {
      method: 'PATCH',
      headers: { 'Content-Range': `${kept}-${data.length - 1}` },
      body: data.subarray(kept),
    });
    expect(rest.status).toBe(202);
    const put = await fetch(`${reg.url}${loc}?digest=${sha256(data)}`, { method: 'PUT' });
    expect(put.status).toBe(201);
    const got = Buffer.from(
      await (await fetch(`${reg.url}/v2/${repo}/blobs/${sha256(data)}`)).arrayBuffer(),
    );
    expect(got.equals(data)).toBe(true);
  });

  it('SIGKILL mid-upload: after restart no blob, no session, no leftover upload file', async () => {
    const root = tempDir('kill');
    cleanup.push(() => rmrf(root));
    const reg = await registry(root);
    const repo = uniqueRepo('kill');
    const data = randomBlob(2 * 1024 * 1024);
    const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    const sock = await partialPatch(reg, loc, data, 1536 * 1024);
    cleanup.push(() => void sock.destroy());
    await uploadFileReaches(root, loc, 1024 * 1024);
    expect(readdirSync(path.join(root, 'uploads'))).toHaveLength(1);
    await reg.kill();

    const again = await registry(root);
    expect(readdirSync(path.join(root, 'uploads'))).toEqual([]);
    expect(blobFiles(root)).toEqual([]);
    const st = await fetch(`${again.url}${loc}`);
    expect(st.status).toBe(404);
    const h = await fetch(`${again.url}/v2/${repo}/blobs/${sha256(data)}`, { method: 'HEAD' });
    expect(h.status).toBe(404);
  });

  it('concurrent pushes of the same blob all succeed and store it once, intact', async () => {
    const reg = await registry();
    cleanup.push(() => rmrf(reg.root));
    const data = randomBlob(4 * 1024 * 1024);
    const digest = sha256(data);
    const repos = Array.from({ length: 4 }, () => uniqueRepo('same'));
    const monolithic = repos.flatMap((repo) => [
      pushBlob(reg.url, repo, data),
      pushBlob(reg.url, repo, data),
    ]);
    const chunked = repos.map(async (repo) => {
      const s = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
      const loc = s.headers.get('location')!;
      const half = data.length / 2;
      await fetch(`${reg.url}${loc}`, {
        method: 'PATCH',
        headers: { 'Content-Range': `0-${half - 1}` },
        body: data.subarray(0, half),
      });
      return fetch(`${reg.url}${loc}?digest=${digest}`, {
        method: 'PUT',
        body: data.subarray(half),
      });
    });
    const results = await Promise.all([...monolithic, ...chunked]);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    expect(blobFiles(reg.root)).toEqual([digest.slice(7)]);
    expect(readdirSync(path.join(reg.root, 'uploads'))).toEqual([]);
    for (const repo of repos) {
      const got = Buffer.from(
        await (await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`)).arrayBuffer(),
      );
      expect(sha256(got)).toBe(digest);
    }
  });

  it('a second server on the same root is refused', async () => {
    const reg = await registry();
    cleanup.push(() => rmrf(reg.root));
    const r = runWharf(['registry', 'serve', '--addr', '127.0.0.1:0', '--root', reg.root], 15_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is in use by another wharf registry process');
    const gc = runWharf(['registry', 'gc', '--root', reg.root]);
    expect(gc.code).toBe(1);
    expect(gc.stderr).toContain('is in use by another wharf registry process');
  });
});
