/**
 * `POST /build` at the API level: bad input answered with Docker's error shape (the daemon
 * keeps serving), dockerode's build stream, and a client that goes away mid-RUN cancels the
 * build (its container is killed and removed).
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { rawRequest } from '../../harness/streams.js';

let d: DaemonHandle;
let tmp: string;
beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-api-'));
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

async function contextTar(name: string, files: Record<string, string>): Promise<Buffer> {
  const dir = path.join(tmp, name);
  for (const [rel, content] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fsp.writeFile(path.join(dir, rel), content);
  }
  return execFileSync('tar', ['-c', '-C', dir, '.']);
}

/** POST /build with a tar body; resolves with status and the raw body. */
function postBuild(query: string, body: Buffer | string) {
  return rawRequest(d.socket, 'POST', `/v1.45/build?${query}`, body as string, {
    'Content-Type': 'application/x-tar',
    'Content-Length': String(Buffer.byteLength(body)),
  });
}

describe('POST /build', () => {
  it('answers bad input with Docker-shaped errors', async () => {
    const tar = await contextTar('bad', { Dockerfile: 'FROM busybox\n' });
    const cases: Array<[string, Buffer | string, number, RegExp]> = [
      ['t=busybox', 'this is not a tar', 400, /failed to read the build context/],
      ['t=Invalid:Tag:x', tar, 400, /invalid reference format/],
      ['buildargs=%7Bnot-json', tar, 400, /invalid buildargs/],
      ['dockerfile=missing', tar, 400, /Cannot locate specified Dockerfile: missing/],
      ['version=2', tar, 501, /BuildKit/],
    ];
    for (const [query, body, status, message] of cases) {
      const r = await postBuild(query, body);
      expect([query, r.status]).toEqual([query, status]);
      expect(JSON.parse(r.body).message).toMatch(message);
    }
    expect((await rawRequest(d.socket, 'GET', '/_ping')).status).toBe(200);
  });

  it('streams step text and the aux image ID to dockerode', async () => {
    const tar = await contextTar('dockerode', {
      Dockerfile: 'FROM busybox\nARG N\nRUN echo "n=$N"\n',
    });
    const { Readable } = await import('node:stream');
    const stream = await d.docker.buildImage(Readable.from([tar]), {
      t: 'from-dockerode:v1',
      buildargs: { N: '42' },
    });
    const messages: Array<Record<string, unknown>> = await new Promise((resolve, reject) =>
      d.docker.modem.followProgress(
        stream,
        (err: Error | null, out: Array<Record<string, unknown>>) =>
          err ? reject(err) : resolve(out),
      ),
    );
    const text = messages.map((m) => m['stream'] ?? '').join('');
    expect(text).toContain('Step 3/3 : RUN echo "n=$N"');
    expect(text).toContain('n=42\n');
    const aux = messages.find((m) => m['aux'])?.['aux'] as { ID: string };
    expect(aux.ID).toMatch(/^sha256:[0-9a-f]{64}$/);
    const img = await d.docker.getImage('from-dockerode:v1').inspect();
    expect(img.Id).toBe(aux.ID);
  });

  it('runs builds side by side', async () => {
    const { Readable } = await import('node:stream');
    const ids = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const tar = await contextTar(`parallel-${n}`, {
          Dockerfile: `FROM busybox\nCOPY f /f\nRUN cat /f > /g && echo ${n} >> /g\n`,
          f: `file ${n}\n`,
        });
        const stream = await d.docker.buildImage(Readable.from([tar]), { t: `parallel-${n}` });
        const out: Array<Record<string, unknown>> = await new Promise((resolve, reject) =>
          d.docker.modem.followProgress(
            stream,
            (err: Error | null, o: Array<Record<string, unknown>>) =>
              err ? reject(err) : resolve(o),
          ),
        );
        return (out.find((m) => m['aux'])?.['aux'] as { ID: string }).ID;
      }),
    );
    expect(new Set(ids).size).toBe(3);
    for (const n of [1, 2, 3]) {
      const r = d.cli(['run', '--rm', `parallel-${n}`, 'cat', '/g']);
      expect(r.stdout).toBe(`file ${n}\n${n}\n`);
    }
  });

  it('ADDs a URL (downloaded, not unpacked, mode 600, --checksum checked)', async () => {
    const { Readable } = await import('node:stream');
    // A gzip'ed tar: ADD of a URL copies it as it is, never unpacked.
    await contextTar('url-payload', { 'inside.txt': 'in the archive\n' });
    const body = execFileSync('tar', ['-cz', '-C', path.join(tmp, 'url-payload'), 'inside.txt']);
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(body).digest('hex')}`;
    const server = http.createServer((req, res) => {
      if (req.url !== '/files/tool.bin') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Last-Modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const build = async (dockerfile: string, t: string) => {
      const tar = await contextTar(`url-${t}`, { Dockerfile: dockerfile });
      const stream = await d.docker.buildImage(Readable.from([tar]), { t });
      return new Promise<Array<Record<string, unknown>>>((resolve, reject) =>
        d.docker.modem.followProgress(
          stream,
          (err: Error | null, o: Array<Record<string, unknown>>) =>
            err ? reject(err) : resolve(o),
        ),
      );
    };
    try {
      const url = `http://127.0.0.1:${port}/files/tool.bin`;
      await build(`FROM busybox\nADD --checksum=${digest} ${url} /dl/\n`, 'url-ok');
      const r = d.cli([
        'run',
        '--rm',
        'url-ok',
        'sh',
        '-c',
        'sha256sum /dl/tool.bin; stat -c "%a %Y" /dl/tool.bin',
      ]);
      expect(r.stdout).toBe(
        `${digest.slice(7)}  /dl/tool.bin\n600 ${Date.parse('2024-01-01T00:00:00Z') / 1000}\n`,
      );
      const bad = await build(
        `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /dl/\n`,
        'url-bad',
      ).catch((err: Error) => [{ error: err.message }]);
      expect(JSON.stringify(bad)).toContain('digest mismatch');
      const missing = await build(
        `FROM busybox\nADD http://127.0.0.1:${port}/nope /x\n`,
        'url-404',
      ).catch((err: Error) => [{ error: err.message }]);
      expect(JSON.stringify(missing)).toContain('404');
    } finally {
      server.close();
    }
  });

  it('cancels the build when the client goes away during a RUN', async () => {
    const tar = await contextTar('cancel', {
      Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\nLABEL never=1\n',
    });
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          socketPath: d.socket,
          method: 'POST',
          path: '/v1.45/build?t=cancelled',
          headers: { 'Content-Type': 'application/x-tar', 'Content-Length': tar.length },
        },
        (res) => {
          res.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('started')) {
              req.destroy();
              resolve();
            }
          });
        },
      );
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      req.end(tar);
      setTimeout(() => reject(new Error('no RUN output')), 20_000).unref();
    });
    await eventually(
      async () => (await d.docker.listContainers({ all: true })).length === 0,
      15_000,
      'the RUN container to be removed',
    );
    await expect(d.docker.getImage('cancelled').inspect()).rejects.toThrow(/No such image/);
  });
});
