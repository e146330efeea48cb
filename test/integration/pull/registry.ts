/**
 * Debian's reference registry (docker-registry, distribution 2.8) started per test on
 * 127.0.0.1 with a temp root, optionally behind htpasswd Basic auth; and OCI layouts built
 * in code and copied into it with skopeo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RegistryHandle {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** The registry's process ID. */
  pid: number;
  root: string;
  /** Where the registry keeps blob data (to corrupt one in a test). */
  blobFile(digest: string): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** GET /v2/ answered (200 or 401), over https without certificate checks when `tls`. */
async function probe(port: number, tls: boolean): Promise<boolean> {
  const mod = tls ? await import('node:https') : await import('node:http');
  return new Promise((resolve) => {
    const req = mod.get(
      { host: '127.0.0.1', port, path: '/v2/', rejectUnauthorized: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startRegistry(
  opts: {
    htpasswd?: { user: string; password: string };
    token?: { realm: string; service: string; issuer: string; certFile: string };
    /** Serve https with a fresh self-signed certificate. */
    tls?: boolean;
  } = {},
): Promise<RegistryHandle> {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-registry-'));
  const port = await freePort();
  const root = path.join(base, 'data');
  let auth = '';
  if (opts.htpasswd) {
    const file = path.join(base, 'htpasswd');
    const r = spawnSync('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
    if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr.toString()}`);
    await fsp.writeFile(file, r.stdout);
    auth = `auth:\n  htpasswd:\n    realm: wharf-test\n    path: ${file}\n`;
  }
  if (opts.token) {
    const t = opts.token;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certFile}\n`;
  }
  let tls = '';
  if (opts.tls) {
    const key = path.join(base, 'key.pem');
    const cert = path.join(base, 'cert.pem');
    const r = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
    tls = `  tls:\n    certificate: ${cert}\n    key: ${key}\n`;
  }
  const config = path.join(base, 'config.yml');
  await fsp.writeFile(
    config,
    `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString('hex')}
${tls}${auth}`,
  );
  const logs: Buffer[] = [];
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => logs.push(b));
  child.stderr!.on('data', (b: Buffer) => logs.push(b));
  let exited = false;
  const exitP = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`docker-registry exited: ${Buffer.concat(logs).toString()}`);
    const ok = await probe(port, !!opts.tls);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start: ${Buffer.concat(logs).toString()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    root,
    blobFile: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return path.join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await exitP;
      }
      await fsp.rm(base, { recursive: true, force: true });
    },
  };
}

// --- OCI layouts ------------------------------------------------------------------------

export type LayerCompression = 'gzip' | 'zstd' | 'none';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function compress(tar: Buffer, c: LayerCompression): Buffer {
  if (c === 'gzip') return gzipSync(tar);
  if (c === 'zstd') {
    const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`zstd: ${r.stderr.toString()}`);
    return r.stdout;
  }
  return tar;
}

const LAYER_TYPE: Record<LayerCompression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export interface ImageSpec {
  /** Uncompressed layer tars, base first. */
  layers: Buffer[];
  compression: LayerCompression | LayerCompression[];
  cmd?: string[];
  architecture?: string;
  variant?: string;
  env?: string[];
  /** Override the config's diff_ids (to make a lying image). */
  diffIDs?: string[];
}

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

async function writeBlob(dir: string, data: Buffer): Promise<string> {
  const digest = sha(data);
  await fsp.writeFile(path.join(dir, 'blobs/sha256', digest.slice(7)), data);
  return digest;
}

async function writeImage(dir: string, spec: ImageSpec): Promise<Desc> {
  const layers: Desc[] = [];
  const diffIDs: string[] = [];
  for (const [i, tar] of spec.layers.entries()) {
    const c = Array.isArray(spec.compression) ? spec.compression[i]! : spec.compression;
    const blob = compress(tar, c);
    diffIDs.push(sha(tar));
    layers.push({
      mediaType: LAYER_TYPE[c],
      digest: await writeBlob(dir, blob),
      size: blob.length,
    });
  }
  const arch = spec.architecture ?? 'amd64';
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      ...(spec.variant ? { variant: spec.variant } : {}),
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: {
        Cmd: spec.cmd ?? ['sh'],
        Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      },
      rootfs: { type: 'layers', diff_ids: spec.diffIDs ?? diffIDs },
      history: diffIDs.map((_, i) => ({
        created: '2024-01-01T00:00:00Z',
        created_by: `layer ${i}`,
      })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: await writeBlob(dir, config),
        size: config.length,
      },
      layers,
    }),
  );
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: await writeBlob(dir, manifest),
    size: manifest.length,
    platform: {
      os: 'linux',
      architecture: arch,
      ...(spec.variant ? { variant: spec.variant } : {}),
    },
  };
}

/**
 * An OCI layout at `dir` holding one image, or (with several specs) an image index over
 * them; `ref` is its `org.opencontainers.image.ref.name`. Returns the config digests.
 */
export async function makeOciLayout(
  dir: string,
  ref: string,
  specs: ImageSpec[],
): Promise<{ manifests: Desc[]; top: Desc }> {
  await fsp.mkdir(path.join(dir, 'blobs/sha256'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const manifests: Desc[] = [];
  for (const s of specs) manifests.push(await writeImage(dir, s));
  let top: Desc = manifests[0]!;
  if (specs.length > 1) {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      }),
    );
    top = {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: await writeBlob(dir, index),
      size: index.length,
    };
  }
  const { platform: _p, ...topDesc } = top;
  await fsp.writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...topDesc, annotations: { 'org.opencontainers.image.ref.name': ref } }],
    }),
  );
  return { manifests, top };
}

/** skopeo copy of an OCI layout into the registry (all platforms of an index). */
export function skopeoCopy(
  layout: string,
  ref: string,
  dest: string,
  opts: { creds?: string; format?: 'v2s2' } = {},
): void {
  const { creds, format } = opts;
  const args = [
    'copy',
    '--quiet',
    '--all',
    // Converting to Docker schema2 rewrites the manifest, so its digest cannot be kept.
    ...(format ? ['--format', format] : ['--preserve-digests']),
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    `oci:${layout}:${ref}`,
    `docker://${dest}`,
  ];
  const r = spawnSync('skopeo', args, { timeout: 60_000 });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr.toString()}`);
}

/** The ustar header of a regular file of `size` bytes (mode 0644, root, a fixed mtime). */
export function tarFileHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('14540000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** A tar of regular files (ustar), for small synthetic layers. */
export function fileTar(files: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    parts.push(tarFileHeader(name, data.length), data);
    parts.push(Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// --- a bearer token server (the distribution token spec), for a registry in token mode ----

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Scopes of each token request, in order (to check caching). */
  requests: string[][];
  stop(): Promise<void>;
}

/**
 * Issues RS256 JWTs signed by a fresh self-signed certificate (sent in the `x5c` header;
 * the registry trusts it through `rootcertbundle`), granting what is asked to `user`.
 */
/** The refresh token the test token server accepts (as an X-Registry-Auth identitytoken). */
export const IDENTITY_TOKEN = 'wharf-test-refresh-token';

export async function startTokenServer(user: string, password: string): Promise<TokenServer> {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-token-'));
  const keyFile = path.join(base, 'key.pem');
  const certFile = path.join(base, 'cert.pem');
  const r = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=wharf-test-token',
  ]);
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
  const { createPrivateKey, createSign, X509Certificate } = await import('node:crypto');
  const key = createPrivateKey(await fsp.readFile(keyFile));
  const der = new X509Certificate(await fsp.readFile(certFile)).raw.toString('base64');
  const http = await import('node:http');
  const service = 'wharf-test-registry';
  const issuer = 'wharf-test-issuer';
  const requests: string[][] = [];
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const handle = (
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
    form?: URLSearchParams,
  ): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    // GET: Basic credentials, scopes as parameters. POST: an OAuth2 refresh-token grant
    // (docker's identity token), scopes space-separated in the form.
    const scopes = form
      ? (form.get('scope') ?? '').split(' ').filter(Boolean)
      : url.searchParams.getAll('scope');
    requests.push(scopes);
    let given: string;
    if (form) {
      const ok =
        form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === IDENTITY_TOKEN;
      given = ok ? `${user}:${password}` : 'bad refresh token';
    } else {
      given = Buffer.from(
        (req.headers.authorization ?? '').replace(/^Basic /, ''),
        'base64',
      ).toString();
    }
    const anonymous = !form && !req.headers.authorization;
    if (!anonymous && given !== `${user}:${password}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"details":"incorrect username or password"}');
      return;
    }
    const access = anonymous
      ? []
      : scopes.map((s) => {
          const [type, ...rest] = s.split(':');
          const actions = rest.pop()!.split(',');
          return { type, name: rest.join(':'), actions };
        });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [der] };
    const claims = {
      iss: issuer,
      sub: anonymous ? '' : user,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64(header)}.${b64(claims)}`;
    const sig = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
    const token = `${input}.${sig}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify(
        form
          ? { access_token: token, expires_in: 300 }
          : { token, expires_in: 300, issued_at: new Date().toISOString() },
      ),
    );
  };
  const srv = http.createServer((req, res) => {
    if (req.method !== 'POST') return handle(req, res);
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => handle(req, res, new URLSearchParams(text)));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: async () => {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeAllConnections?.();
      await fsp.rm(base, { recursive: true, force: true });
    },
  };
}

/** A docker JSON progress message, as tests read them. */
export interface Msg {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: Record<string, unknown>;
  error?: string;
}

/** The parts of an image manifest tests look at. */
export interface ManifestJson {
  config: { digest: string };
  layers: Array<{ mediaType: string; digest: string; size: number }>;
}
