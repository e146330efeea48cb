import { describe, expect, it } from 'vitest';

import type { Digest } from '../oci/index.js';
import {
  cleanArchivePath,
  digestOfBlobPath,
  parseArchiveManifest,
  parseIndex,
  parseRepoTag,
  referenceOfAnnotations,
  resolveLink,
  saveMetadata,
} from './archive-format.js';
import { familiarString, parseNormalizedNamed } from './reference.js';

const hex = (c: string) => c.repeat(64);
const dg = (c: string) => `sha256:${hex(c)}` as Digest;

describe('cleanArchivePath', () => {
  it.each([
    ['./manifest.json', 'manifest.json'],
    ['blobs//sha256/./x', 'blobs/sha256/x'],
    ['dir/', 'dir'],
    ['.', ''],
  ])('%s → %s', (input, out) => expect(cleanArchivePath(input)).toBe(out));

  it.each(['/etc/passwd', '../x', 'a/../../x', 'a/..'])('refuses %s', (input) =>
    expect(() => cleanArchivePath(input)).toThrow(/invalid archive/),
  );
});

describe('resolveLink', () => {
  it('resolves relative targets inside the archive', () => {
    expect(resolveLink('b/layer.tar', '../a/layer.tar')).toBe('a/layer.tar');
    expect(resolveLink('x', 'y/./z')).toBe('y/z');
  });
  it.each([
    ['a/layer.tar', '/etc/passwd'],
    ['a/layer.tar', '../../etc/passwd'],
    ['top', '../x'],
  ])('refuses %s → %s', (from, target) =>
    expect(() => resolveLink(from, target)).toThrow(/points outside the archive/),
  );
});

describe('digestOfBlobPath', () => {
  it('reads sha256 blob paths only', () => {
    expect(digestOfBlobPath(`blobs/sha256/${hex('a')}`)).toBe(dg('a'));
    expect(digestOfBlobPath(`blobs/sha256/${hex('A')}`)).toBeUndefined();
    expect(digestOfBlobPath(`blobs/sha512/${hex('a')}`)).toBeUndefined();
    expect(digestOfBlobPath(`x/blobs/sha256/${hex('a')}`)).toBeUndefined();
  });
});

describe('parseArchiveManifest', () => {
  const j = (v: unknown) => Buffer.from(JSON.stringify(v));
  it('accepts entries with and without RepoTags', () => {
    const out = parseArchiveManifest(
      j([
        { Config: 'c.json', RepoTags: ['a:b'], Layers: ['l/layer.tar'] },
        { Config: 'd.json', Layers: [] },
      ]),
    );
    expect(out).toEqual([
      { Config: 'c.json', RepoTags: ['a:b'], Layers: ['l/layer.tar'] },
      { Config: 'd.json', RepoTags: null, Layers: [] },
    ]);
  });
  it.each([
    ['not JSON', Buffer.from('{'), /not valid JSON/],
    ['an object', j({}), /not a list/],
    ['no Config', j([{ Layers: [] }]), /has no Config/],
    ['bad Layers', j([{ Config: 'c', Layers: [1] }]), /no valid Layers/],
    ['bad RepoTags', j([{ Config: 'c', Layers: [], RepoTags: 'a:b' }]), /invalid RepoTags/],
    ['a null entry', j([null]), /has no Config/],
  ])('refuses %s', (_what, bytes, msg) => expect(() => parseArchiveManifest(bytes)).toThrow(msg));
});

describe('parseIndex', () => {
  it('refuses descriptors with a bad digest or size', () => {
    const idx = (d: unknown) => Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [d] }));
    expect(() => parseIndex(idx({ mediaType: 'x', digest: 'sha256:zz', size: 1 }))).toThrow(
      /invalid descriptor/,
    );
    expect(() => parseIndex(idx({ mediaType: 'x', digest: dg('a'), size: -1 }))).toThrow(
      /invalid descriptor/,
    );
    expect(parseIndex(idx({ mediaType: 'x', digest: dg('a'), size: 3 })).manifests).toHaveLength(1);
  });
});

describe('references in archives', () => {
  it('io.containerd.image.name wins; a bare ref.name is no name; a repo:tag ref.name is', () => {
    const name = (a: Record<string, string>) => {
      const r = referenceOfAnnotations(a);
      return r && familiarString(r);
    };
    expect(
      name({
        'io.containerd.image.name': 'docker.io/library/busybox:1',
        'org.opencontainers.image.ref.name': '1',
      }),
    ).toBe('busybox:1');
    expect(name({ 'org.opencontainers.image.ref.name': 'latest' })).toBeUndefined();
    expect(name({ 'org.opencontainers.image.ref.name': 'example.com/app:v2' })).toBe(
      'example.com/app:v2',
    );
    expect(name({})).toBeUndefined();
    expect(() => name({ 'io.containerd.image.name': 'Bad Name' })).toThrow(/invalid image name/);
  });

  it('RepoTags entries must be tagged names', () => {
    expect(familiarString(parseRepoTag('busybox:latest'))).toBe('busybox:latest');
    expect(() => parseRepoTag(`busybox@${dg('a')}`)).toThrow(/invalid tag/);
    expect(() => parseRepoTag('NotLower:v1')).toThrow(/invalid tag/);
  });
});

describe('saveMetadata', () => {
  it('writes index.json, manifest.json, oci-layout and repositories consistently', () => {
    const tags = [parseNormalizedNamed('busybox:latest'), parseNormalizedNamed('x.io/a/b:v1')];
    const files = new Map(
      saveMetadata([
        {
          configDigest: dg('c'),
          manifest: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: dg('m'),
            size: 9,
          },
          layers: [dg('1'), dg('2')],
          tags,
        },
        {
          configDigest: dg('d'),
          manifest: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: dg('n'),
            size: 7,
          },
          layers: [dg('1')],
          tags: [],
        },
      ]).map((f) => [f.name, JSON.parse(f.data.toString())]),
    );
    expect(files.get('oci-layout')).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(files.get('manifest.json')).toEqual([
      {
        Config: `blobs/sha256/${hex('c')}`,
        RepoTags: ['busybox:latest', 'x.io/a/b:v1'],
        Layers: [`blobs/sha256/${hex('1')}`, `blobs/sha256/${hex('2')}`],
      },
      { Config: `blobs/sha256/${hex('d')}`, RepoTags: null, Layers: [`blobs/sha256/${hex('1')}`] },
    ]);
    const index = files.get('index.json');
    expect(index.manifests.map((m: { annotations?: unknown }) => m.annotations)).toEqual([
      {
        'io.containerd.image.name': 'docker.io/library/busybox:latest',
        'org.opencontainers.image.ref.name': 'latest',
      },
      { 'io.containerd.image.name': 'x.io/a/b:v1', 'org.opencontainers.image.ref.name': 'v1' },
      undefined,
    ]);
    expect(files.get('repositories')).toEqual({
      busybox: { latest: hex('2') },
      'x.io/a/b': { v1: hex('2') },
    });
  });
});
