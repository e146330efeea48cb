/**
 * `wharf registry gc`: mark every manifest of every repository and what it references, sweep
 * the rest; --dry-run deletes nothing.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  pushImage,
  pushManifest,
  randomBlob,
  rmrf,
  runWharf,
  sha256,
  startRegistry,
  tempDir,
  type RegistryHandle,
} from './helpers.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function blobs(root: string): string[] {
  return readdirSync(path.join(root, 'blobs', 'sha256'))
    .map((h) => `sha256:${h}`)
    .sort();
}

async function registry(root: string): Promise<RegistryHandle> {
  const reg = await startRegistry({ root });
  cleanup.push(() => reg.kill());
  return reg;
}

describe('wharf registry gc', () => {
  it('removes only the blobs of a deleted image; dry-run removes nothing', async () => {
    const root = tempDir('gc');
    cleanup.push(() => rmrf(root));
    let reg = await registry(root);
    const base = randomBlob(2000);
    const a = await pushImage(reg.url, 'gc/app', 'a', { layers: [base, randomBlob(3000)] });
    const b = await pushImage(reg.url, 'gc/app', 'b', { layers: [base, randomBlob(4000)] });
    // Kept through other paths: an index child in another repo, and a referrer's subject.
    const c = await pushImage(reg.url, 'gc/other', 'c');
    const idx = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: c.digest, size: c.bytes.length }],
    };
    const idxBytes = Buffer.from(JSON.stringify(idx));
    expect((await pushManifest(reg.url, 'gc/other', 'multi', idxBytes, OCI_INDEX)).status).toBe(
      201,
    );
    // c loses its tag but stays: the index references it (and untagged manifests are kept).
    expect((await fetch(`${reg.url}/v2/gc/other/manifests/c`, { method: 'DELETE' })).status).toBe(
      202,
    );
    const sig = await pushImage(reg.url, 'gc/app', 'sig', {
      extra: { subject: { mediaType: OCI_MANIFEST, digest: b.digest, size: b.bytes.length } },
    });
    // A blob pushed but never referenced.
    const stray = randomBlob(100);
    await fetch(`${reg.url}/v2/gc/app/blobs/uploads/?digest=${sha256(stray)}`, {
      method: 'POST',
      body: stray,
    });

    expect(
      (await fetch(`${reg.url}/v2/gc/app/manifests/${a.digest}`, { method: 'DELETE' })).status,
    ).toBe(202);
    const before = blobs(root);
    const onlyA = [a.digest, sha256(a.config), sha256(a.layers[1]!), sha256(stray)].sort();
    expect(before).toEqual(expect.arrayContaining(onlyA));

    // The server holds the root: gc must wait for it to stop.
    expect(await reg.stop()).toBe(0);

    const dry = runWharf(['registry', 'gc', '--root', root, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    for (const d of onlyA) expect(dry.stdout).toContain(`blob eligible for deletion: ${d}`);
    expect(dry.stdout).toContain(`4 blobs eligible for deletion`);
    expect(blobs(root)).toEqual(before);

    const real = runWharf(['registry', 'gc', '--root', root]);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain('4 blobs deleted');
    const after = blobs(root);
    expect(after).toEqual(before.filter((d) => !onlyA.includes(d)));
    for (const d of [
      b.digest,
      sha256(b.config),
      sha256(base),
      sha256(b.layers[1]!),
      c.digest,
      sha256(idxBytes),
      sig.digest,
    ]) {
      expect(after).toContain(d);
    }

    // The survivors still serve; the swept blob is gone from its repository too.
    reg = await registry(root);
    for (const d of [sha256(base), sha256(b.layers[1]!)]) {
      const r = await fetch(`${reg.url}/v2/gc/app/blobs/${d}`);
      expect(r.status).toBe(200);
      expect(sha256(Buffer.from(await r.arrayBuffer()))).toBe(d);
    }
    expect(
      (await fetch(`${reg.url}/v2/gc/app/blobs/${sha256(a.layers[1]!)}`, { method: 'HEAD' }))
        .status,
    ).toBe(404);
    const m = await fetch(`${reg.url}/v2/gc/other/manifests/multi`, {
      headers: { Accept: OCI_INDEX },
    });
    expect(Buffer.from(await m.arrayBuffer()).equals(idxBytes)).toBe(true);

    // A second run finds nothing more.
    await reg.stop();
    const again = runWharf(['registry', 'gc', '--root', root, '-q']);
    expect(again.stdout.trim()).toMatch(/, 0 blobs deleted/);
  });

  it('--delete-untagged drops manifests no tag reaches, keeping index children and referrers', async () => {
    const root = tempDir('gc-untagged');
    cleanup.push(() => rmrf(root));
    const reg = await registry(root);
    const old = await pushImage(reg.url, 'u/app', 'latest');
    const cur = await pushImage(reg.url, 'u/app', 'latest'); // moves the tag: `old` is untagged
    const sig = await pushImage(reg.url, 'u/app', sha256('sig').slice(7, 20), {
      extra: { subject: { mediaType: OCI_MANIFEST, digest: cur.digest, size: cur.bytes.length } },
    });
    await fetch(`${reg.url}/v2/u/app/manifests/${sha256('sig').slice(7, 20)}`, {
      method: 'DELETE',
    });
    const child = await pushImage(reg.url, 'u/app', 'child');
    const idx = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.bytes.length }],
      }),
    );
    await pushManifest(reg.url, 'u/app', 'multi', idx, OCI_INDEX);
    await fetch(`${reg.url}/v2/u/app/manifests/child`, { method: 'DELETE' });
    expect(await reg.stop()).toBe(0);

    // Without the flag, untagged manifests are kept.
    const plain = runWharf(['registry', 'gc', '--root', root, '-q']);
    expect(plain.stdout).toContain(', 0 blobs deleted');

    const dry = runWharf(['registry', 'gc', '--root', root, '--delete-untagged', '--dry-run']);
    expect(dry.stdout).toContain(`u/app: deleting untagged manifest ${old.digest}`);
    expect(dry.stdout).toContain('3 blobs eligible for deletion');
    const real = runWharf(['registry', 'gc', '--root', root, '-m']);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain('3 blobs deleted');
    const left = blobs(root);
    for (const d of [old.digest, sha256(old.config), sha256(old.layers[0]!)])
      expect(left).not.toContain(d);
    for (const d of [cur.digest, sig.digest, child.digest, sha256(idx)]) expect(left).toContain(d);

    const again = await registry(root);
    const r = await fetch(`${again.url}/v2/u/app/referrers/${cur.digest}`);
    const list = (await r.json()) as { manifests: Array<{ digest: string }> };
    expect(list.manifests.map((m) => m.digest)).toEqual([sig.digest]);
    expect(
      (await fetch(`${again.url}/v2/u/app/manifests/${old.digest}`, { method: 'HEAD' })).status,
    ).toBe(404);
  });
});
