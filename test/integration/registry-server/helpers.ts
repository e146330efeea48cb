/**
 * Helpers for the registry server tests: start `./bin/wharf registry serve` on 127.0.0.1 with
 * a free port (the server picks it: --addr 127.0.0.1:0, read back from its log) and a temp
 * root; build OCI image layouts on disk for skopeo; small HTTP helpers for the raw protocol.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import tar from 'tar-stream';

import { eventually, ROOT, type CliResult } from '../../harness/daemon.js';

export const sha256 = (b: Buffer | string): string =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `wharf-reg-${prefix}-`));
}

export interface RegistryHandle {
  url: string;
  /** host:port, as clients name the registry. */
  host: string;
  root: string;
  process: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait. */
  kill(): Promise<void>;
}

export function runWharf(args: string[], timeoutMs = 60_000): CliResult {
  const r = spawnSync(path.join(ROOT, 'bin/wharf'), [...args], {
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export async function startRegistry(
  opts: { root?: string; args?: string[] } = {},
): Promise<RegistryHandle> {
  const root = opts.root ?? tempDir('root');
  const child = spawn(
    path.join(ROOT, 'bin/wharf'),
    ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', root, ...(opts.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => out.push(b));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const output = (): string => Buffer.concat(out).toString();
  let url: string;
  try {
    url = await eventually<string>(
      () => {
        if (child.exitCode !== null) throw new Error(`registry exited: ${output()}`);
        const m = /"url":"([^"]+)"[^\n]*registry: listening/.exec(output());
        return m?.[1] ?? '';
      },
      15_000,
      'registry to listen',
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    host: new URL(url).host,
    root,
    process: child,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface OciImage {
  dir: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
}

/** A gzip layer holding the given files (plus a directory), deterministic for given input. */
export async function layerTar(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  pack.entry({ name: 'etc/', type: 'directory', mode: 0o755, mtime: new Date(0) });
  for (const [name, content] of Object.entries(files)) {
    pack.entry({ name, mode: 0o644, mtime: new Date(0) }, content);
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

function writeBlob(dir: string, data: Buffer | string): string {
  const digest = sha256(data);
  writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  return digest;
}

/**
 * An OCI image layout on disk (oci-layout, index.json, blobs/) with one image of the given
 * layers, tagged `tag` (the org.opencontainers.image.ref.name annotation skopeo reads).
 */
export async function makeOciLayout(
  dir: string,
  tag: string,
  layers: Array<Record<string, string | Buffer>>,
): Promise<OciImage> {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const layerDescs = [];
  const diffIds = [];
  for (const files of layers) {
    const gz = await layerTar(files);
    const { gunzipSync } = await import('node:zlib');
    diffIds.push(sha256(gunzipSync(gz)));
    layerDescs.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: writeBlob(dir, gz),
      size: gz.length,
    });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map(() => ({ created_by: 'wharf test' })),
    }),
  );
  const configDigest = writeBlob(dir, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: layerDescs,
    }),
  );
  const manifestDigest = writeBlob(dir, manifest);
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return {
    dir,
    tag,
    manifestDigest,
    configDigest,
    layerDigests: layerDescs.map((l) => l.digest),
  };
}

/** No credentials but those given on the command line: an auth file that does not exist. */
const NO_AUTH_FILE = path.join(os.tmpdir(), `wharf-reg-noauth-${process.pid}.json`);

export function skopeo(args: string[], timeoutMs = 120_000): CliResult {
  const r = spawnSync('skopeo', ['--insecure-policy', ...args], {
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, REGISTRY_AUTH_FILE: NO_AUTH_FILE },
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout?.toString() ?? '',
    stderr: r.stderr?.toString() ?? '',
  };
}

export function rmrf(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

export function randomBlob(n: number): Buffer {
  return randomBytes(n);
}

export function uniqueRepo(prefix: string): string {
  return `${prefix}/${randomBytes(3).toString('hex')}`;
}

/** Push a blob monolithically (POST ?digest=); returns the response. */
export async function pushBlob(
  url: string,
  repo: string,
  data: Buffer,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
    body: data,
  });
}

export async function pushManifest(
  url: string,
  repo: string,
  ref: string,
  manifest: object | Buffer,
  mediaType: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const body = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
  return fetch(`${url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType, ...headers },
    body,
  });
}

/** An image manifest over a config and layers pushed to `repo` first. */
export async function pushImage(
  url: string,
  repo: string,
  tag: string,
  opts: { layers?: Buffer[]; config?: Buffer; mediaType?: string; extra?: object } = {},
): Promise<{ digest: string; bytes: Buffer; config: Buffer; layers: Buffer[] }> {
  const config =
    opts.config ??
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(4).toString('hex') }),
    );
  const layers = opts.layers ?? [randomBlob(1000)];
  for (const b of [config, ...layers]) {
    const r = await pushBlob(url, repo, b);
    if (r.status !== 201) throw new Error(`blob push: ${r.status} ${await r.text()}`);
  }
  const docker = opts.mediaType === 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = {
    schemaVersion: 2,
    mediaType: opts.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: docker
        ? 'application/vnd.docker.container.image.v1+json'
        : 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: config.length,
    },
    layers: layers.map((l) => ({
      mediaType: docker
        ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
        : 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: sha256(l),
      size: l.length,
    })),
    ...opts.extra,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const r = await pushManifest(url, repo, tag, bytes, manifest.mediaType);
  if (r.status !== 201) throw new Error(`manifest push: ${r.status} ${await r.text()}`);
  return { digest: sha256(bytes), bytes, config, layers };
}
