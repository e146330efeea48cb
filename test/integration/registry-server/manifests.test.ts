/**
 * The distribution API over raw HTTP (node's fetch), part 2: manifests and indexes, tags,
 * the catalog and referrers, against `wharf registry serve` started from ./bin/wharf.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  pushBlob,
  pushImage,
  pushManifest,
  rmrf,
  sha256,
  startRegistry,
  uniqueRepo,
  type RegistryHandle,
} from './helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

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

describe('manifests', () => {
  it('PUT by tag, GET/HEAD by tag and digest, bytes and media type as pushed', async () => {
    const repo = uniqueRepo('man');
    // Unusual but valid formatting: stored and served byte for byte.
    const img = await pushImage(url, repo, 'v1');
    for (const ref of ['v1', img.digest]) {
      const g = await fetch(`${url}/v2/${repo}/manifests/${ref}`, {
        headers: { Accept: OCI_MANIFEST },
      });
      expect(g.status).toBe(200);
      expect(g.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(g.headers.get('docker-content-digest')).toBe(img.digest);
      expect(Buffer.from(await g.arrayBuffer()).equals(img.bytes)).toBe(true);
      const h = await fetch(`${url}/v2/${repo}/manifests/${ref}`, {
        method: 'HEAD',
        headers: { Accept: OCI_MANIFEST },
      });
      expect(h.status).toBe(200);
      expect(h.headers.get('content-length')).toBe(String(img.bytes.length));
    }
    // Docker schema2 keeps its media type.
    const d = await pushImage(url, repo, 'docker', { mediaType: DOCKER_MANIFEST });
    const g = await fetch(`${url}/v2/${repo}/manifests/docker`, {
      headers: { Accept: DOCKER_MANIFEST },
    });
    expect(g.headers.get('content-type')).toBe(DOCKER_MANIFEST);
    expect(g.headers.get('docker-content-digest')).toBe(d.digest);
    await g.arrayBuffer();
  });

  it('content negotiation refuses OCI manifests to clients that do not accept them', async () => {
    const repo = uniqueRepo('neg');
    await pushImage(url, repo, 'v1');
    const r = await fetch(`${url}/v2/${repo}/manifests/v1`, {
      headers: { Accept: DOCKER_MANIFEST },
    });
    expect(r.status).toBe(404);
    expect(await errorCode(r)).toBe('MANIFEST_UNKNOWN');
    const any = await fetch(`${url}/v2/${repo}/manifests/v1`, { headers: { Accept: '*/*' } });
    expect(any.status).toBe(200);
    await any.arrayBuffer();
  });

  it('PUT by digest checks the digest; PUT checks JSON, shape and referenced blobs', async () => {
    const repo = uniqueRepo('val');
    const img = await pushImage(url, repo, 'base');
    const byDigest = await pushManifest(url, repo, img.digest, img.bytes, OCI_MANIFEST);
    expect(byDigest.status).toBe(201);
    const wrong = await pushManifest(url, repo, sha256('x'), img.bytes, OCI_MANIFEST);
    expect(wrong.status).toBe(400);
    expect(await errorCode(wrong)).toBe('DIGEST_INVALID');

    const notJson = await pushManifest(url, repo, 't', Buffer.from('{nope'), OCI_MANIFEST);
    expect(notJson.status).toBe(400);
    expect(await errorCode(notJson)).toBe('MANIFEST_INVALID');

    const doc = JSON.parse(img.bytes.toString()) as {
      layers: Array<{ digest: string; size: number }>;
    };
    const missingLayer = {
      ...doc,
      layers: [{ ...doc.layers[0], digest: sha256('absent'), size: 6 }],
    };
    const r = await pushManifest(url, repo, 't', missingLayer, OCI_MANIFEST);
    expect(r.status).toBe(400);
    expect(await errorCode(r)).toBe('MANIFEST_BLOB_UNKNOWN');

    const mismatch = await pushManifest(url, repo, 't', img.bytes, DOCKER_MANIFEST);
    expect(await errorCode(mismatch)).toBe('MANIFEST_INVALID');

    const schema1 = await pushManifest(
      url,
      repo,
      't',
      { schemaVersion: 1, name: repo, tag: 't', fsLayers: [] },
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    );
    expect(await errorCode(schema1)).toBe('MANIFEST_INVALID');

    const badTag = await pushManifest(url, repo, '-bad', img.bytes, OCI_MANIFEST);
    expect(badTag.status).toBe(400);
    expect(await errorCode(badTag)).toBe('TAG_INVALID');

    const unknown = await fetch(`${url}/v2/${repo}/manifests/nope`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('MANIFEST_UNKNOWN');
    const noRepo = await fetch(`${url}/v2/${uniqueRepo('none')}/manifests/latest`);
    expect(noRepo.status).toBe(404);
    expect(await errorCode(noRepo)).toBe('NAME_UNKNOWN');
  });

  it('indexes and manifest lists: children must exist', async () => {
    const repo = uniqueRepo('idx');
    const a = await pushImage(url, repo, 'a');
    const child = {
      mediaType: OCI_MANIFEST,
      digest: a.digest,
      size: a.bytes.length,
      platform: { architecture: 'amd64', os: 'linux' },
    };
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] };
    const r = await pushManifest(url, repo, 'multi', index, OCI_INDEX);
    expect(r.status).toBe(201);
    const g = await fetch(`${url}/v2/${repo}/manifests/multi`, {
      headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` },
    });
    expect(g.headers.get('content-type')).toBe(OCI_INDEX);
    await g.arrayBuffer();

    const list = {
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [{ ...child, digest: sha256('missing child') }],
    };
    const bad = await pushManifest(url, repo, 'list', list, DOCKER_LIST);
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('DELETE by tag removes the tag; by digest removes the manifest and its tags', async () => {
    const repo = uniqueRepo('del');
    const img = await pushImage(url, repo, 'one');
    await pushManifest(url, repo, 'two', img.bytes, OCI_MANIFEST);
    expect((await fetch(`${url}/v2/${repo}/manifests/one`, { method: 'DELETE' })).status).toBe(202);
    expect((await fetch(`${url}/v2/${repo}/manifests/one`, { method: 'HEAD' })).status).toBe(404);
    expect(
      (
        await fetch(`${url}/v2/${repo}/manifests/two`, {
          method: 'HEAD',
          headers: { Accept: OCI_MANIFEST },
        })
      ).status,
    ).toBe(200);
    expect(
      (await fetch(`${url}/v2/${repo}/manifests/${img.digest}`, { method: 'DELETE' })).status,
    ).toBe(202);
    expect((await fetch(`${url}/v2/${repo}/manifests/two`, { method: 'HEAD' })).status).toBe(404);
    const again = await fetch(`${url}/v2/${repo}/manifests/${img.digest}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe('MANIFEST_UNKNOWN');
  });
});

describe('listings', () => {
  it('tags list with n/last pagination and Link headers', async () => {
    const repo = uniqueRepo('tags');
    const img = await pushImage(url, repo, 'c');
    for (const t of ['a', 'b', 'd', 'e']) await pushManifest(url, repo, t, img.bytes, OCI_MANIFEST);
    const all = await fetch(`${url}/v2/${repo}/tags/list`);
    expect(await all.json()).toEqual({ name: repo, tags: ['a', 'b', 'c', 'd', 'e'] });
    expect(all.headers.get('link')).toBeNull();

    const p1 = await fetch(`${url}/v2/${repo}/tags/list?n=2`);
    expect(await p1.json()).toEqual({ name: repo, tags: ['a', 'b'] });
    const link = p1.headers.get('link')!;
    expect(link).toBe(`</v2/${repo}/tags/list?n=2&last=b>; rel="next"`);
    const next = /<([^>]+)>/.exec(link)![1]!;
    const p2 = await fetch(`${url}${next}`);
    expect(await p2.json()).toEqual({ name: repo, tags: ['c', 'd'] });
    const p3 = await fetch(`${url}/v2/${repo}/tags/list?n=2&last=d`);
    expect(await p3.json()).toEqual({ name: repo, tags: ['e'] });
    expect(p3.headers.get('link')).toBeNull();

    const unknown = await fetch(`${url}/v2/${uniqueRepo('nobody')}/tags/list`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('NAME_UNKNOWN');
  });

  it('_catalog lists repositories with pagination', async () => {
    const base = uniqueRepo('cat');
    for (const r of [`${base}/x`, `${base}/y`, `${base}/y/z`]) await pushImage(url, r, 'latest');
    const all = (await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(all.repositories).toEqual(
      expect.arrayContaining([`${base}/x`, `${base}/y`, `${base}/y/z`]),
    );
    expect([...all.repositories].sort()).toEqual(all.repositories);
    const page = await fetch(`${url}/v2/_catalog?n=1&last=${base}/x`);
    expect(await page.json()).toEqual({ repositories: [`${base}/y`] });
    expect(page.headers.get('link')).toBe(
      `</v2/_catalog?n=1&last=${encodeURIComponent(`${base}/y`)}>; rel="next"`,
    );
  });

  it('referrers: manifests pushed with a subject, artifactType filter', async () => {
    const repo = uniqueRepo('ref');
    const subject = await pushImage(url, repo, 'app');
    const subj = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length };
    const empty = Buffer.from('{}');
    const sig = await pushImage(url, repo, 'sig', {
      config: empty,
      extra: {
        artifactType: 'application/vnd.example.sig',
        subject: subj,
        annotations: { who: 'test' },
      },
    });
    const sbom = await pushImage(url, repo, 'sbom', {
      extra: { artifactType: 'application/spdx+json', subject: subj },
    });

    const r = await fetch(`${url}/v2/${repo}/referrers/${subject.digest}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(OCI_INDEX);
    const idx = (await r.json()) as {
      mediaType: string;
      manifests: Array<{ digest: string; artifactType: string; annotations?: object }>;
    };
    expect(idx.mediaType).toBe(OCI_INDEX);
    expect(idx.manifests.map((m) => m.digest).sort()).toEqual([sig.digest, sbom.digest].sort());
    expect(idx.manifests.find((m) => m.digest === sig.digest)).toMatchObject({
      artifactType: 'application/vnd.example.sig',
      annotations: { who: 'test' },
      mediaType: OCI_MANIFEST,
      size: sig.bytes.length,
    });

    const f = await fetch(
      `${url}/v2/${repo}/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`,
    );
    expect(f.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(
      ((await f.json()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest),
    ).toEqual([sbom.digest]);

    // Deleting a referrer drops it from the list.
    await fetch(`${url}/v2/${repo}/manifests/${sig.digest}`, { method: 'DELETE' });
    const after = (await (await fetch(`${url}/v2/${repo}/referrers/${subject.digest}`)).json()) as {
      manifests: unknown[];
    };
    expect(after.manifests).toHaveLength(1);

    const none = await fetch(`${url}/v2/${repo}/referrers/${sha256('nothing')}`);
    expect(((await none.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    const bad = await fetch(`${url}/v2/${repo}/referrers/notadigest`);
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
  });

  it('a manifest with a subject gets the OCI-Subject header', async () => {
    const repo = uniqueRepo('subj');
    const s = await pushImage(url, repo, 's');
    const config = Buffer.from('{}');
    await pushBlob(url, repo, config);
    const m = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/x-test',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: 2 },
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: s.digest, size: s.bytes.length },
    };
    const r = await pushManifest(url, repo, sha256(JSON.stringify(m)), m, OCI_MANIFEST);
    expect(r.status).toBe(201);
    expect(r.headers.get('oci-subject')).toBe(s.digest);
  });
});
