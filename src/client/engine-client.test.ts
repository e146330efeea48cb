import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compareApiVersions, EngineClient, filtersFromArgs } from './engine-client.js';
import { ApiError } from './errors.js';
import { parseHost, resolveHost } from './host.js';
import { encodeFrame, StreamDemuxer } from './stdcopy.js';
import { buildQuery } from './transport.js';

describe('stdcopy', () => {
  it('demultiplexes frames split across chunks', () => {
    const got: Array<[number, string]> = [];
    const d = new StreamDemuxer((s, p) => got.push([s, p.toString()]));
    const all = Buffer.concat([encodeFrame(1, 'out'), encodeFrame(2, 'err'), encodeFrame(1, '')]);
    for (let i = 0; i < all.length; i += 3) d.push(all.subarray(i, i + 3));
    expect(got).toEqual([
      [1, 'out'],
      [2, 'err'],
      [1, ''],
    ]);
    expect(d.leftover).toBe(0);
  });
});

describe('hosts and queries', () => {
  it('resolves -H, WHARF_HOST, DOCKER_HOST, default', () => {
    expect(resolveHost('unix:///a.sock', { WHARF_HOST: 'unix:///b' }).socketPath).toBe('/a.sock');
    expect(
      resolveHost(undefined, { WHARF_HOST: 'unix:///b', DOCKER_HOST: 'unix:///c' }).socketPath,
    ).toBe('/b');
    expect(resolveHost(undefined, { DOCKER_HOST: 'unix:///c' }).socketPath).toBe('/c');
    expect(resolveHost(undefined, {}).socketPath).toBe('/run/wharf/wharf.sock');
    expect(() => parseHost('tcp://1.2.3.4:2375')).toThrow('only unix://');
  });

  it('builds queries and filters', () => {
    expect(buildQuery({ a: true, b: false, c: undefined, d: 'x y', e: ['1', '2'] })).toBe(
      '?a=1&b=0&d=x%20y&e=1&e=2',
    );
    expect(filtersFromArgs(['status=running', 'label=a=b', 'status=paused'])).toEqual({
      status: { running: true, paused: true },
      label: { 'a=b': true },
    });
    expect(compareApiVersions('1.41', '1.45')).toBe(-1);
    expect(compareApiVersions('1.45', '1.45')).toBe(0);
  });
});

describe('EngineClient over a unix socket', () => {
  let server: Server;
  let socket: string;
  const seen: string[] = [];

  beforeAll(async () => {
    socket = join(mkdtempSync(join(tmpdir(), 'wharf-client-')), 's.sock');
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      // As dockerd: every response names the daemon's version; a newer client is refused.
      res.setHeader('API-Version', '1.43');
      if (req.url?.startsWith('/v1.45/')) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(
          '{"message":"client version 1.45 is too new. Maximum supported API version is 1.43"}',
        );
      } else if (req.url === '/_ping') {
        res.writeHead(200, { 'API-Version': '1.43' });
        res.end('OK');
      } else if (req.url?.startsWith('/v1.43/containers/nope/json')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"message":"No such container: nope"}');
      } else if (req.url?.startsWith('/v1.43/containers/busy')) {
        res.writeHead(409);
        res.end('{"message":"conflict"}');
      } else if (req.url === '/v1.43/containers/json?all=1') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('[{"Id":"x"}]');
      } else {
        res.writeHead(500);
        res.end('{"message":"boom"}');
      }
    });
    server.on('upgrade', (req, sock) => {
      seen.push(`UPGRADE ${req.method} ${req.url}`);
      sock.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      sock.write(encodeFrame(1, 'hello'));
      sock.end();
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });

  afterAll(() => {
    server.close();
    rmSync(dirname(socket), { recursive: true, force: true });
  });

  it('negotiates the API version down and maps errors by status', async () => {
    const c = new EngineClient(parseHost(`unix://${socket}`));
    expect(await c.apiVersion()).toBe('1.43');
    expect(await c.containerList({ all: true })).toEqual([{ Id: 'x' }]);
    const err = await c.containerInspect('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).kind).toBe('not-found');
    expect((err as ApiError).message).toBe('No such container: nope');
    await expect(c.containerStart('busy')).rejects.toMatchObject({ kind: 'conflict' });
    await expect(c.containerPause('x')).rejects.toMatchObject({
      kind: 'internal',
      message: 'boom',
    });
    c.close();
  });

  it('sends the first request without a ping and retries it at an older daemon version', async () => {
    const c = new EngineClient(parseHost(`unix://${socket}`));
    seen.length = 0;
    expect(await c.containerList({ all: true })).toEqual([{ Id: 'x' }]);
    expect(seen).toEqual(['GET /v1.45/containers/json?all=1', 'GET /v1.43/containers/json?all=1']);
    expect(await c.apiVersion()).toBe('1.43');
    c.close();
  });

  it('hijacks attach connections', async () => {
    const c = new EngineClient(parseHost(`unix://${socket}`), { apiVersion: '1.43' });
    const { socket: s } = await c.containerAttach('abc', { stdout: true });
    const chunks: Buffer[] = [];
    await new Promise<void>((r) => {
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', r);
    });
    const got: string[] = [];
    new StreamDemuxer((_s, p) => got.push(p.toString())).push(Buffer.concat(chunks));
    expect(got).toEqual(['hello']);
    expect(seen).toContain(
      'UPGRADE POST /v1.43/containers/abc/attach?stream=1&stdin=0&stdout=1&stderr=1',
    );
    c.close();
  });
});
