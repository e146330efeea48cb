/**
 * A pull in flight holds what it found present: while it waits on its top layer, the only
 * image sharing its base layer is removed and images and the build cache are pruned. The
 * pull still completes and its image has every layer (a container made from it exports both
 * layers' files). Without leases the base layer went with the removed image and the pull
 * failed on its missing parent.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import tar from 'tar-stream';
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
/** Blob digests whose download the proxy holds until the test lets it go. */
const gates = new Map<string, { arrived: () => void; open: Promise<void> }>();

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon({ withBusybox: false });
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-lease-'));
  proxyPort = await freePort();
  proxy = http.createServer((req, res) => {
    const gate = [...gates].find(([digest]) => req.url?.endsWith(`/blobs/${digest}`))?.[1];
    const forward = (): void => {
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
          upRes.pipe(res);
        },
      );
      req.pipe(up);
    };
    if (gate && req.method === 'GET') {
      gate.arrived();
      void gate.open.then(forward);
    } else {
      forward();
    }
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

async function pull(ref: string): Promise<Msg[]> {
  const stream = await d.docker.pull(ref);
  return new Promise((resolve, reject) =>
    d.docker.modem.followProgress(stream, (err, out: Msg[]) => (err ? reject(err) : resolve(out))),
  );
}

async function exportedNames(image: string): Promise<string[]> {
  const c = await d.docker.createContainer({ Image: image });
  try {
    const names: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (h, s, next) => {
      names.push(h.name);
      s.resume();
      s.on('end', next);
    });
    const done = new Promise<void>((r, j) => extract.on('finish', () => r()).on('error', j));
    (await c.export()).pipe(extract);
    await done;
    return names;
  } finally {
    await c.remove({ force: true });
  }
}

describe('leases', () => {
  it('keeps the layers a pull in flight found present from rmi and prune', async () => {
    const base = fileTar({ 'base.txt': `base ${randomBytes(8).toString('hex')}\n` });
    const top = fileTar({ 'top.bin': randomBytes(1024 * 1024) });
    const layoutY = path.join(work, 'y');
    const layoutX = path.join(work, 'x');
    await makeOciLayout(layoutY, 'y', [{ layers: [base], compression: 'none', cmd: ['true'] }]);
    const x = await makeOciLayout(layoutX, 'x', [
      { layers: [base, top], compression: 'none', cmd: ['true'] },
    ]);
    skopeoCopy(layoutY, 'y', `${reg.host}/lease/y:1`);
    skopeoCopy(layoutX, 'x', `${reg.host}/lease/x:1`);
    const manifest = JSON.parse(
      await fsp.readFile(path.join(layoutX, 'blobs/sha256', x.top.digest.slice(7)), 'utf8'),
    ) as { layers: Array<{ digest: string }> };
    const topDigest = manifest.layers[1]!.digest;

    const y = `${reg.host}/lease/y:1`;
    await pull(y);
    let arrived!: () => void;
    const atGate = new Promise<void>((r) => (arrived = r));
    let open!: () => void;
    gates.set(topDigest, { arrived, open: new Promise<void>((r) => (open = r)) });

    const ref = `127.0.0.1:${proxyPort}/lease/x:1`;
    const pulling = pull(ref);
    await atGate; // the pull has found the base layer present and waits on the top one
    await d.docker.getImage(y).remove();
    await d.docker.pruneImages({ filters: { dangling: ['false'] } });
    const prune = await d.cli(['builder', 'prune', '-f']);
    expect(prune.code).toBe(0);
    open();

    const msgs = await pulling;
    expect(msgs.find((m) => m.error)).toBeUndefined();
    expect(msgs.at(-1)?.status).toBe(`Status: Downloaded newer image for ${ref}`);
    const img = await d.docker.getImage(ref).inspect();
    expect(img.RootFS.Layers).toHaveLength(2);
    const names = await exportedNames(ref);
    expect(names).toContain('base.txt');
    expect(names).toContain('top.bin');

    // Once the pull is recorded, the lease is gone: removing the image frees both layers.
    await d.docker.getImage(ref).remove();
    const layers = (await fsp.readdir(path.join(d.dataRoot, 'overlay'))).filter((n) =>
      /^[a-f0-9]{64}$/.test(n),
    );
    expect(layers).toEqual([]);
  }, 60_000);
});
