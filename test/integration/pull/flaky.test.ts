/**
 * Transient registry failures are retried: a proxy in front of the registry answers the
 * first manifest request with 503 and cuts the first download of every blob halfway (a
 * connection reset mid-body). The pull still succeeds. The proxy runs in this process, so
 * the daemon is driven with dockerode (async), never a blocking spawnSync.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import {
  fileTar,
  freePort,
  makeOciLayout,
  skopeoCopy,
  startRegistry,
  type Msg,
  type RegistryHandle,
} from './registry.js';

let d: DaemonHandle;
let reg: RegistryHandle;
let proxy: http.Server;
let proxyPort: number;
let work: string;
const seen = new Map<string, number>();
const faults: string[] = [];

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon({ withBusybox: false });
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-flaky-'));
  proxyPort = await freePort();
  proxy = http.createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n === 1 && req.method === 'GET' && /\/manifests\//.test(req.url ?? '')) {
      faults.push(`503 ${req.url}`);
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}');
      return;
    }
    const up = http.request(
      {
        host: '127.0.0.1',
        port: reg.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        const cut = n === 1 && req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
        const total = Number(upRes.headers['content-length'] ?? 0);
        if (!cut || total < 1024 * 1024) {
          upRes.pipe(res);
          return;
        }
        let sent = 0;
        upRes.on('data', (c: Buffer) => {
          if (sent > total / 2) return;
          sent += c.length;
          res.write(c);
          if (sent > total / 2) {
            faults.push(`reset ${req.url}`);
            upRes.destroy();
            res.socket?.destroy(); // the client sees the connection die mid-body
          }
        });
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
});

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  await d?.stop();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

describe('transient failures', () => {
  it('retries a 503 manifest and blobs cut mid-download, and the pull succeeds', async () => {
    const layout = path.join(work, 'f');
    await makeOciLayout(layout, 'f', [
      {
        layers: [
          fileTar({ 'a.bin': randomBytes(4 * 1024 * 1024) }),
          fileTar({ 'b.bin': randomBytes(4 * 1024 * 1024) }),
        ],
        compression: 'none',
        cmd: ['true'],
      },
    ]);
    skopeoCopy(layout, 'f', `${reg.host}/flaky:f`);
    const ref = `127.0.0.1:${proxyPort}/flaky:f`;
    const stream = await d.docker.pull(ref);
    const msgs: Msg[] = await new Promise((resolve, reject) =>
      d.docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))),
    );
    expect(msgs.find((m) => m.error)).toBeUndefined();
    expect(faults.filter((f) => f.startsWith('503'))).toHaveLength(1);
    expect(faults.filter((f) => f.startsWith('reset'))).toHaveLength(2);
    expect(msgs.filter((m) => m.status?.startsWith('Retrying in'))).toHaveLength(2);
    expect(msgs.at(-1)?.status).toBe(`Status: Downloaded newer image for ${ref}`);
    const img = await d.docker.getImage(ref).inspect();
    expect(img.RootFS.Layers).toHaveLength(2);
  }, 60_000);
});
