/**
 * skopeo (containers/image, a real client) pushes OCI layouts to `wharf registry serve` and
 * pulls them back byte for byte: plain HTTP, Docker schema2 conversion, basic auth, our own
 * token server, and TLS with a self-signed certificate made here with openssl.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  makeOciLayout,
  rmrf,
  sha256,
  skopeo,
  startRegistry,
  tempDir,
  uniqueRepo,
  type OciImage,
  type RegistryHandle,
} from './helpers.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

let work: string;
let image: OciImage;

beforeAll(async () => {
  work = tempDir('skopeo');
  image = await makeOciLayout(path.join(work, 'src'), 'v1', [
    { 'etc/hello': 'hello from wharf\n' },
    { 'etc/second': Buffer.alloc(200_000, 7) },
  ]);
});
afterAll(() => rmrf(work));

async function registry(args: string[] = []): Promise<RegistryHandle> {
  const reg = await startRegistry({ args });
  cleanup.push(() => rmrf(reg.root));
  cleanup.push(() => reg.stop());
  return reg;
}

function indexDigest(dir: string): { digest: string; mediaType: string } {
  const idx = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; mediaType: string }>;
  };
  return idx.manifests[0]!;
}

function ok(r: { code: number; stdout: string; stderr: string }): string {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** Push the test image and pull it back into a new layout; returns that layout's dir. */
function roundTrip(ref: string, push: string[], pull: string[]): string {
  ok(skopeo(['copy', ...push, `oci:${image.dir}:v1`, `docker://${ref}`]));
  const back = path.join(work, `back-${Math.random().toString(16).slice(2)}`);
  ok(skopeo(['copy', ...pull, `docker://${ref}`, `oci:${back}:v1`]));
  return back;
}

describe('skopeo against wharf registry', () => {
  it('copies an OCI image in and out unchanged, lists tags, inspects, deletes', async () => {
    const reg = await registry();
    const repo = uniqueRepo('skopeo');
    const ref = `${reg.host}/${repo}:v1`;
    const back = roundTrip(ref, ['--dest-tls-verify=false'], ['--src-tls-verify=false']);
    expect(indexDigest(back).digest).toBe(image.manifestDigest);
    for (const d of [image.configDigest, ...image.layerDigests]) {
      expect(
        readFileSync(path.join(back, 'blobs/sha256', d.slice(7))).equals(
          readFileSync(path.join(image.dir, 'blobs/sha256', d.slice(7))),
        ),
      ).toBe(true);
    }

    const inspect = JSON.parse(
      ok(skopeo(['inspect', '--tls-verify=false', `docker://${ref}`])),
    ) as {
      Digest: string;
      Layers: string[];
    };
    expect(inspect.Digest).toBe(image.manifestDigest);
    expect(inspect.Layers).toEqual(image.layerDigests);

    // A second push is all skips (blobs exist), a second tag by digest is cheap.
    ok(
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        `oci:${image.dir}:v1`,
        `docker://${reg.host}/${repo}:v2`,
      ]),
    );
    const tags = JSON.parse(
      ok(skopeo(['list-tags', '--tls-verify=false', `docker://${reg.host}/${repo}`])),
    ) as {
      Tags: string[];
    };
    expect(tags.Tags.sort()).toEqual(['v1', 'v2']);

    ok(
      skopeo([
        'delete',
        '--tls-verify=false',
        `docker://${reg.host}/${repo}@${image.manifestDigest}`,
      ]),
    );
    const gone = skopeo(['inspect', '--tls-verify=false', `docker://${ref}`]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/manifest unknown/i);
  });

  it('converts to Docker schema2 on push and keeps that media type', async () => {
    const reg = await registry();
    const ref = `${reg.host}/${uniqueRepo('v2s2')}:v1`;
    ok(
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        '--format',
        'v2s2',
        `oci:${image.dir}:v1`,
        `docker://${ref}`,
      ]),
    );
    const raw = ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
    const m = JSON.parse(raw) as { mediaType: string; config: { digest: string } };
    expect(m.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(m.config.digest).toBe(image.configDigest);
    // The dir: transport keeps the manifest as served: the very bytes skopeo pushed.
    const back = path.join(work, `dir-${Math.random().toString(16).slice(2)}`);
    ok(skopeo(['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${back}`]));
    expect(readFileSync(path.join(back, 'manifest.json'), 'utf8')).toBe(raw);
    for (const d of image.layerDigests) {
      expect(
        readFileSync(path.join(back, d.slice(7))).equals(
          readFileSync(path.join(image.dir, 'blobs/sha256', d.slice(7))),
        ),
      ).toBe(true);
    }
  });

  it('copies a multi-platform index with --all', async () => {
    const reg = await registry();
    const dir = path.join(work, 'multi');
    const amd = await makeOciLayout(dir, 'amd', [{ 'etc/arch': 'amd64\n' }]);
    const arm = await makeOciLayout(dir, 'arm', [{ 'etc/arch': 'arm64\n' }]);
    const size = (d: string): number =>
      readFileSync(path.join(dir, 'blobs/sha256', d.slice(7))).length;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { img: amd, arch: 'amd64' },
          { img: arm, arch: 'arm64' },
        ].map(({ img, arch }) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: img.manifestDigest,
          size: size(img.manifestDigest),
          platform: { architecture: arch, os: 'linux' },
        })),
      }),
    );
    const indexDigest = sha256(index);
    writeFileSync(path.join(dir, 'blobs/sha256', indexDigest.slice(7)), index);
    writeFileSync(
      path.join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            digest: indexDigest,
            size: index.length,
            annotations: { 'org.opencontainers.image.ref.name': 'multi' },
          },
        ],
      }),
    );
    const ref = `${reg.host}/${uniqueRepo('multi')}:multi`;
    ok(skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${dir}:multi`, `docker://${ref}`]));
    const raw = ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
    expect(sha256(raw)).toBe(indexDigest);
    // Without --all, skopeo picks the platform it was asked for from the index.
    const arm64 = JSON.parse(
      ok(skopeo(['inspect', '--override-arch', 'arm64', '--tls-verify=false', `docker://${ref}`])),
    ) as { Layers: string[] };
    expect(arm64.Layers).toEqual(arm.layerDigests);
    const back = path.join(work, 'multi-back');
    ok(skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${ref}`, `oci:${back}:multi`]));
    expect(indexDigest).toBe(
      JSON.parse(readFileSync(path.join(back, 'index.json'), 'utf8')).manifests[0].digest,
    );
  });

  it('basic auth from an htpasswd file (bcrypt)', async () => {
    const dir = tempDir('htpasswd');
    cleanup.push(() => rmrf(dir));
    const file = path.join(dir, 'htpasswd');
    writeFileSync(file, `alice:${bcrypt.hashSync('s3cret', 5)}\nbob:{SHA}notbcrypt\n`);
    const reg = await registry(['--htpasswd', file]);
    const ref = `${reg.host}/${uniqueRepo('basic')}:v1`;

    const anon = skopeo([
      'copy',
      '--dest-tls-verify=false',
      `oci:${image.dir}:v1`,
      `docker://${ref}`,
    ]);
    expect(anon.code).not.toBe(0);
    expect(anon.stderr).toMatch(/authentication required|unauthorized/i);
    const wrong = skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'alice:nope',
      `oci:${image.dir}:v1`,
      `docker://${ref}`,
    ]);
    expect(wrong.code).not.toBe(0);

    const back = roundTrip(
      ref,
      ['--dest-tls-verify=false', '--dest-creds', 'alice:s3cret'],
      ['--src-tls-verify=false', '--src-creds', 'alice:s3cret'],
    );
    expect(indexDigest(back).digest).toBe(image.manifestDigest);

    const r = await fetch(`${reg.url}/v2/`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Basic realm="Wharf Registry"');
    expect(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe(
      'UNAUTHORIZED',
    );
  });

  it('bearer tokens from the registry itself (--auth token)', async () => {
    const dir = tempDir('token');
    cleanup.push(() => rmrf(dir));
    const file = path.join(dir, 'htpasswd');
    writeFileSync(file, `carol:${bcrypt.hashSync('pw', 5)}\n`);
    const reg = await registry(['--htpasswd', file, '--auth', 'token', '--service', 'test-svc']);
    const repo = uniqueRepo('token');
    const ref = `${reg.host}/${repo}:v1`;

    const anon = skopeo([
      'copy',
      '--dest-tls-verify=false',
      `oci:${image.dir}:v1`,
      `docker://${ref}`,
    ]);
    expect(anon.code).not.toBe(0);
    const back = roundTrip(
      ref,
      ['--dest-tls-verify=false', '--dest-creds', 'carol:pw'],
      ['--src-tls-verify=false', '--src-creds', 'carol:pw'],
    );
    expect(indexDigest(back).digest).toBe(image.manifestDigest);

    // The protocol by hand: challenge, token, retry.
    const first = await fetch(`${reg.url}/v2/${repo}/tags/list`);
    expect(first.status).toBe(401);
    expect(first.headers.get('www-authenticate')).toBe(
      `Bearer realm="${reg.url}/token",service="test-svc",scope="repository:${repo}:pull"`,
    );
    await first.arrayBuffer();
    const basic = `Basic ${Buffer.from('carol:pw').toString('base64')}`;
    const bad = await fetch(`${reg.url}/token?service=test-svc&scope=repository:${repo}:pull`, {
      headers: { Authorization: `Basic ${Buffer.from('carol:x').toString('base64')}` },
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('Basic realm="Wharf Registry"');
    expect(((await bad.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe(
      'UNAUTHORIZED',
    );
    const tok = (await (
      await fetch(`${reg.url}/token?service=test-svc&scope=repository:${repo}:pull`, {
        headers: { Authorization: basic },
      })
    ).json()) as { token: string; expires_in: number };
    expect(tok.expires_in).toBe(900);
    const list = await fetch(`${reg.url}/v2/${repo}/tags/list`, {
      headers: { Authorization: `Bearer ${tok.token}` },
    });
    expect(await list.json()).toEqual({ name: repo, tags: ['v1'] });
    // A pull token does not allow a push: the challenge asks for the missing scope.
    const push = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tok.token}` },
    });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain(
      `scope="repository:${repo}:pull,push",error="insufficient_scope"`,
    );
    await push.arrayBuffer();
    // A token for another repository does not open this one; a tampered token opens nothing.
    const forged = tok.token.replace(/\.[^.]+$/, '.AAAA');
    const f = await fetch(`${reg.url}/v2/${repo}/tags/list`, {
      headers: { Authorization: `Bearer ${forged}` },
    });
    expect(f.status).toBe(401);
    await f.arrayBuffer();
    // The OAuth2 password grant (containerd's way).
    const form = await fetch(`${reg.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'carol',
        password: 'pw',
        service: 'test-svc',
        scope: `repository:${repo}:pull`,
      }),
    });
    expect(form.status).toBe(200);
    expect(((await form.json()) as { access_token: string }).access_token).toMatch(
      /^[\w-]+\.[\w-]+\.[\w-]+$/,
    );
  });

  it('TLS with a self-signed certificate (--tls-cert/--tls-key)', async () => {
    const dir = tempDir('tls');
    cleanup.push(() => rmrf(dir));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    const gen = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    expect(gen.status, gen.stderr.toString()).toBe(0);
    const certDir = path.join(dir, 'certs.d');
    mkdirSync(certDir);
    writeFileSync(path.join(certDir, 'ca.crt'), readFileSync(cert));

    const reg = await registry(['--tls-cert', cert, '--tls-key', key]);
    expect(reg.url).toMatch(/^https:/);
    const ref = `${reg.host}/${uniqueRepo('tls')}:v1`;
    // Verified against the certificate, not merely tolerated.
    const back = roundTrip(ref, ['--dest-cert-dir', certDir], ['--src-cert-dir', certDir]);
    expect(indexDigest(back).digest).toBe(image.manifestDigest);
    const untrusted = skopeo(['inspect', `docker://${ref}`]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate/i);
  });
});
