import { describe, expect, it } from 'vitest';

import { RegistryError } from './errors.js';
import { acceptsMediaType, parseManifest } from './manifest.js';

const OCI_M = 'application/vnd.oci.image.manifest.v1+json';
const OCI_I = 'application/vnd.oci.image.index.v1+json';
const D_M = 'application/vnd.docker.distribution.manifest.v2+json';
const D_L = 'application/vnd.docker.distribution.manifest.list.v2+json';
const d = (c: string): string => `sha256:${c.repeat(64)}`;

const image = (extra: object = {}): object => ({
  schemaVersion: 2,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('a'), size: 10 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('b'), size: 20 }],
  ...extra,
});
const buf = (o: object): Buffer => Buffer.from(JSON.stringify(o));
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as RegistryError).code;
  }
  return 'none';
};

describe('parseManifest', () => {
  it('an OCI image manifest: config and layers to check, artifactType from the config', () => {
    const p = parseManifest(buf(image({ mediaType: OCI_M })), OCI_M);
    expect(p.mediaType).toBe(OCI_M);
    expect(p.kind).toBe('manifest');
    expect(p.blobs.map((b) => b.digest)).toEqual([d('a'), d('b')]);
    expect(p.artifactType).toBe('application/vnd.oci.image.config.v1+json');
  });

  it('media type from the body when the Content-Type says nothing, else by shape', () => {
    expect(parseManifest(buf(image({ mediaType: D_M })), 'application/json').mediaType).toBe(D_M);
    expect(parseManifest(buf(image()), undefined).mediaType).toBe(OCI_M);
    expect(parseManifest(buf({ schemaVersion: 2, manifests: [] }), '').mediaType).toBe(OCI_I);
    expect(parseManifest(buf(image()), `${OCI_M}; charset=utf-8`).mediaType).toBe(OCI_M);
  });

  it('an index lists child manifests, a subject and artifactType', () => {
    const p = parseManifest(
      buf({
        schemaVersion: 2,
        mediaType: D_L,
        manifests: [
          {
            mediaType: D_M,
            digest: d('c'),
            size: 5,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
      D_L,
    );
    expect(p.kind).toBe('index');
    expect(p.manifests.map((m) => m.digest)).toEqual([d('c')]);
    expect(p.blobs).toEqual([]);
    const s = parseManifest(
      buf(
        image({
          artifactType: 'x/y',
          subject: { mediaType: OCI_M, digest: d('e'), size: 1 },
          annotations: { k: 'v' },
        }),
      ),
      OCI_M,
    );
    expect(s.subject?.digest).toBe(d('e'));
    expect(s.artifactType).toBe('x/y');
    expect(s.annotations).toEqual({ k: 'v' });
  });

  it('foreign layers with urls are not required', () => {
    const p = parseManifest(
      buf(
        image({
          layers: [
            {
              mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
              digest: d('f'),
              size: 1,
              urls: ['https://x'],
            },
          ],
        }),
      ),
      OCI_M,
    );
    expect(p.blobs.map((b) => b.digest)).toEqual([d('a')]);
  });

  it.each([
    ['not JSON', Buffer.from('{'), OCI_M],
    ['an array', Buffer.from('[]'), OCI_M],
    [
      'schema 1',
      buf({ schemaVersion: 1, fsLayers: [] }),
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    ],
    ['Content-Type vs mediaType', buf(image({ mediaType: OCI_M })), D_M],
    ['unknown type', buf(image()), 'application/x-nope'],
    ['schemaVersion 3', buf(image({ schemaVersion: 3 })), OCI_M],
    ['no config', buf({ schemaVersion: 2, layers: [] }), OCI_M],
    [
      'no layers',
      buf({ schemaVersion: 2, config: { mediaType: 'x', digest: d('a'), size: 1 } }),
      OCI_M,
    ],
    ['bad digest', buf(image({ config: { mediaType: 'x', digest: 'sha256:zz', size: 1 } })), OCI_M],
    [
      'sha512 digest',
      buf(image({ config: { mediaType: 'x', digest: `sha512:${'a'.repeat(128)}`, size: 1 } })),
      OCI_M,
    ],
    ['negative size', buf(image({ config: { mediaType: 'x', digest: d('a'), size: -1 } })), OCI_M],
    ['index without manifests', buf({ schemaVersion: 2 }), OCI_I],
    ['bad annotations', buf(image({ annotations: { a: 1 } })), OCI_M],
  ])('refuses %s as MANIFEST_INVALID', (_name, bytes, type) => {
    expect(code(() => parseManifest(bytes, type))).toBe('MANIFEST_INVALID');
  });
});

describe('acceptsMediaType', () => {
  it('no Accept or a wildcard takes anything', () => {
    expect(acceptsMediaType(undefined, OCI_M)).toBe(true);
    expect(acceptsMediaType('*/*', OCI_I)).toBe(true);
  });
  it('OCI types only when asked for', () => {
    expect(acceptsMediaType(`${D_M}, ${D_L}`, OCI_M)).toBe(false);
    expect(acceptsMediaType([D_M, `${OCI_M};q=0.5`], OCI_M)).toBe(true);
    expect(acceptsMediaType(OCI_M, OCI_I)).toBe(false);
  });
  it('Docker types to everyone', () => {
    expect(acceptsMediaType(OCI_M, D_M)).toBe(true);
  });
});
