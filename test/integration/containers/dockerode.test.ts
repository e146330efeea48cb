/**
 * The Engine API through dockerode (a real client, not the docker CLI): the container lifecycle,
 * hijacked attach and exec, live events, list filters, and Docker's error statuses and bodies.
 */
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import {
  demux,
  demuxAll,
  demuxBuffer,
  ended,
  rawRequest,
  Sink,
  uniq,
  waitRequest,
} from '../../harness/streams.js';

const LABEL = 'wharf.test';
const FILE = 'dockerode';

let d: DaemonHandle;
let docker: Docker;
const cleanup: string[] = [];

beforeAll(async () => {
  d = await startDaemon();
  docker = d.docker;
});
afterEach(async () => {
  const ids = cleanup.splice(0);
  await Promise.all(
    ids.map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
});
afterAll(async () => {
  await d?.stop();
});

/** Create a busybox container labelled for this file; removed after the test. */
async function create(
  name: string,
  cmd: string[],
  extra: Docker.ContainerCreateOptions = {},
): Promise<Docker.Container> {
  const c = await docker.createContainer({
    name,
    Image: 'busybox',
    Cmd: cmd,
    ...extra,
    Labels: { [LABEL]: FILE, ...(extra.Labels ?? {}) },
  });
  cleanup.push(c.id);
  return c;
}

async function expectDaemonUp(): Promise<void> {
  expect(d.alive).toBe(true);
  const ping = await rawRequest(d.socket, 'GET', '/_ping');
  expect(ping.status).toBe(200);
  expect(ping.body).toBe('OK');
}

describe('dockerode: lifecycle', () => {
  it('create, start, wait, logs (demultiplexed), inspect, remove', async () => {
    const name = uniq('dk-life');
    const c = await create(name, ['sh', '-c', 'echo to-out; echo to-err >&2; exit 4']);
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    const created = await c.inspect();
    expect(created.Name).toBe(`/${name}`);
    expect(created.State.Status).toBe('created');
    expect(created.Config.Labels).toEqual({ [LABEL]: FILE });

    await c.start();
    const waited = (await c.wait()) as { StatusCode: number };
    expect(waited.StatusCode).toBe(4);

    // Followed logs are a stream; demuxStream splits it as a client would.
    const stream = (await c.logs({
      follow: true,
      stdout: true,
      stderr: true,
    })) as unknown as NodeJS.ReadableStream;
    expect(await demuxAll(docker, stream)).toEqual({ stdout: 'to-out\n', stderr: 'to-err\n' });
    // Without follow dockerode hands back the whole multiplexed body.
    const whole = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    expect(demuxBuffer(whole)).toEqual({ stdout: 'to-out\n', stderr: 'to-err\n' });
    const onlyErr = (await c.logs({ stdout: false, stderr: true })) as unknown as Buffer;
    expect(demuxBuffer(onlyErr)).toEqual({ stdout: '', stderr: 'to-err\n' });

    const info = await c.inspect();
    expect(info.State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 4 });
    expect(info.State.StartedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(info.State.FinishedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);

    await c.remove();
    await expect(c.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('start of a started container is 304, remove of a running one 409', async () => {
    const c = await create(uniq('dk-304'), ['sleep', '600']);
    await c.start();
    await expect(c.start()).rejects.toMatchObject({ statusCode: 304 });
    await expect(c.remove()).rejects.toMatchObject({
      statusCode: 409,
      json: {
        message: expect.stringMatching(/You cannot remove a running container/),
      },
    });
    await c.remove({ force: true });
  });

  it('wait with condition next-exit (and not-running, removed)', async () => {
    const c = await create(uniq('dk-wait'), ['sh', '-c', 'exit 3']);
    const nextExit = c.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    let settled = false;
    void nextExit.then(() => (settled = true));
    // dockerode cannot tell when the wait is registered: run the container until it is seen.
    await eventually(async () => {
      await c.start();
      await c.wait();
      return settled;
    });
    expect((await nextExit).StatusCode).toBe(3);
    // not-running on a stopped container answers at once with the last code.
    expect(((await c.wait()) as { StatusCode: number }).StatusCode).toBe(3);

    const removed = await waitRequest(d.socket, c.id, 'removed');
    await c.remove();
    expect(JSON.parse(await removed.body)).toEqual({ StatusCode: 3, Error: null });

    const bad = await rawRequest(d.socket, 'POST', `/containers/${c.id}/wait?condition=bogus`);
    expect(bad.status).toBe(400);
  });
});

describe('dockerode: hijacked attach and exec', () => {
  it('attach with stdin: writes reach the container, output comes back', async () => {
    const c = await create(uniq('dk-attach'), ['sh', '-c', 'while read l; do echo got:$l; done'], {
      OpenStdin: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = (await c.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as NodeJS.ReadWriteStream;
    const { out } = demux(docker, stream);
    await c.start();
    stream.write('ping\n');
    await out.until('got:ping\n');
    stream.write('pong\n');
    await out.until('got:pong\n');
    expect(out.text).toBe('got:ping\ngot:pong\n');
    await c.kill();
    await ended(stream);
  });

  it('closing an attach stdin leaves a container without StdinOnce running', async () => {
    const c = await create(uniq('dk-keep'), ['sh', '-c', 'while read l; do echo got:$l; done'], {
      OpenStdin: true,
      AttachStdin: true,
    });
    const stream = (await c.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as NodeJS.ReadWriteStream;
    const { out } = demux(docker, stream);
    await c.start();
    stream.write('one\n');
    await out.until('got:one\n');
    stream.end();
    await ended(stream);
    // A second client still reaches the same stdin.
    const again = (await c.attach({
      stream: true,
      stdin: true,
      stdout: true,
      hijack: true,
    })) as unknown as NodeJS.ReadWriteStream;
    const second = demux(docker, again).out;
    again.write('two\n');
    await second.until('got:two\n');
    expect((await c.inspect()).State.Running).toBe(true);
    await c.kill();
  });

  it('FinishedAt is not before StartedAt', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await create(uniq('dk-times'), ['true']);
      await c.start();
      await c.wait();
      const st = (await c.inspect()).State;
      expect(Date.parse(st.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(st.StartedAt));
    }
  });

  it('attach with StdinOnce: closing stdin ends the container', async () => {
    const c = await create(uniq('dk-once'), ['sh', '-c', 'cat; echo eof-seen'], {
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = (await c.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as NodeJS.ReadWriteStream;
    const { out } = demux(docker, stream);
    await c.start();
    stream.write('abc\n');
    await out.until('abc\n');
    stream.end();
    expect(((await c.wait()) as { StatusCode: number }).StatusCode).toBe(0);
    await out.until('eof-seen\n');
    expect(out.text).toBe('abc\neof-seen\n');
  });

  it('exec with hijacked stdin, demultiplexed output and ExitCode from inspect', async () => {
    const c = await create(uniq('dk-exec'), ['sleep', '600']);
    await c.start();
    const exec = await c.exec({
      Cmd: ['sh', '-c', 'cat; echo to-err >&2; exit 7'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const before = await exec.inspect();
    expect(before).toMatchObject({ Running: false, ExitCode: null, ContainerID: c.id });
    const stream = (await exec.start({
      hijack: true,
      stdin: true,
    })) as unknown as NodeJS.ReadWriteStream;
    const { out, err } = demux(docker, stream);
    stream.write('from-stdin\n');
    await out.until('from-stdin\n');
    stream.end();
    await ended(stream);
    await err.until('to-err\n');
    expect(out.text).toBe('from-stdin\n');
    const after = await eventually(async () => {
      const i = await exec.inspect();
      return i.Running ? undefined : i;
    });
    expect(after?.ExitCode).toBe(7);
    expect(after?.ProcessConfig).toMatchObject({ entrypoint: 'sh', tty: false });
  });

  it('exec start of an unknown exec is 404, exec in a stopped container 409', async () => {
    await expect(docker.getExec('nosuchexec').inspect()).rejects.toMatchObject({
      statusCode: 404,
      json: { message: 'No such exec instance: nosuchexec' },
    });
    const c = await create(uniq('dk-exec409'), ['true']);
    await expect(c.exec({ Cmd: ['true'] })).rejects.toMatchObject({ statusCode: 409 });
  });
});

describe('dockerode: events', () => {
  it('streams live create/start/die/destroy events, filtered by container and event', async () => {
    const name = uniq('dk-ev');
    const other = uniq('dk-ev-other');
    const abort = new AbortController();
    const stream = (await docker.getEvents({
      filters: {
        type: ['container'],
        container: [name],
        event: ['create', 'start', 'die', 'destroy'],
      },
      abortSignal: abort.signal,
    })) as unknown as NodeJS.ReadableStream;
    const sink = new Sink();
    stream.pipe(sink.stream);
    try {
      const noise = await create(other, ['true']);
      await noise.start();
      const c = await create(name, ['sh', '-c', 'exit 2']);
      await c.start();
      await c.wait();
      await c.remove();
      await sink.until(/"destroy"/);
      const events = sink.text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown> & { Actor: Record<string, never> });
      expect(events.map((e) => e['Action'])).toEqual(['create', 'start', 'die', 'destroy']);
      for (const e of events) {
        expect(e).toMatchObject({ Type: 'container', id: c.id, from: 'busybox' });
        expect(e.Actor).toMatchObject({
          ID: c.id,
          Attributes: { name, image: 'busybox', [LABEL]: FILE },
        });
        expect(typeof e['time']).toBe('number');
        expect(typeof e['timeNano']).toBe('number');
      }
      expect(events[2]!.Actor['Attributes']).toMatchObject({ exitCode: '2' });
      expect(sink.text).not.toContain(other);
    } finally {
      abort.abort();
    }
  });

  it('filters events by label', async () => {
    const mark = uniq('m');
    const abort = new AbortController();
    const stream = (await docker.getEvents({
      filters: { label: [`mark=${mark}`], event: ['start'] },
      abortSignal: abort.signal,
    })) as unknown as NodeJS.ReadableStream;
    const sink = new Sink();
    stream.pipe(sink.stream);
    try {
      const unmarked = await create(uniq('dk-evl0'), ['true']);
      await unmarked.start();
      const marked = await create(uniq('dk-evl1'), ['true'], { Labels: { mark } });
      await marked.start();
      await sink.until(marked.id);
      const lines = sink.text.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ Action: 'start', id: marked.id });
    } finally {
      abort.abort();
    }
  });
});

describe('dockerode: listContainers filters', () => {
  it('status, exited, ancestor, name, id, label, limit, before and since', async () => {
    const scope = uniq('scope');
    const mk = async (n: string, cmd: string[], k: string): Promise<Docker.Container> =>
      create(`${scope}-${n}`, cmd, { Labels: { scope, k } });
    const a = await mk('a', ['sh', '-c', 'exit 3'], 'x');
    await a.start();
    await a.wait();
    const b = await mk('b', ['true'], 'y');
    await b.start();
    await b.wait();
    const c = await mk('c', ['sleep', '600'], 'x');
    await c.start();

    const names = async (filters: Record<string, string[]>, extra = {}): Promise<string[]> =>
      (
        await docker.listContainers({
          all: true,
          filters: { label: [`scope=${scope}`], ...filters },
          ...extra,
        })
      ).map((x) => x.Names[0]!.replace(`/${scope}-`, ''));

    // Newest first, as Docker.
    expect(await names({})).toEqual(['c', 'b', 'a']);
    expect(await names({ status: ['exited'] })).toEqual(['b', 'a']);
    expect(await names({ status: ['running'] })).toEqual(['c']);
    expect(await names({ exited: ['3'] })).toEqual(['a']);
    expect(await names({ exited: ['0'] })).toEqual(['b']);
    expect(await names({ ancestor: ['busybox'] })).toEqual(['c', 'b', 'a']);
    expect(await names({ ancestor: ['busybox:latest'] })).toEqual(['c', 'b', 'a']);
    expect(await names({ name: [`${scope}-b`] })).toEqual(['b']);
    expect(await names({ id: [a.id.slice(0, 12)] })).toEqual(['a']);
    expect(await names({ id: [c.id] })).toEqual(['c']);
    expect(await names({ label: [`scope=${scope}`, 'k=x'] })).toEqual(['c', 'a']);
    expect(await names({ before: [c.id] })).toEqual(['b', 'a']);
    expect(await names({ since: [`${scope}-a`] })).toEqual(['c', 'b']);
    expect(await names({}, { limit: 1 })).toEqual(['c']);

    // Without all, only running containers.
    const running = await docker.listContainers({ filters: { label: [`scope=${scope}`] } });
    expect(running.map((x) => x.Id)).toEqual([c.id]);
    expect(running[0]).toMatchObject({
      Image: 'busybox',
      Command: 'sleep 600',
      State: 'running',
      Labels: { scope, k: 'x', [LABEL]: FILE },
    });
    expect(running[0]!.Status).toMatch(/^Up /);
    const exited = await docker.listContainers({
      all: true,
      filters: { label: [`scope=${scope}`], exited: ['3'] },
    });
    expect(exited[0]!.Status).toMatch(/^Exited \(3\) /);
  });
});

describe('dockerode: errors', () => {
  it('404 with {"message":"No such container: x"}', async () => {
    const missing = uniq('nosuch');
    await expect(docker.getContainer(missing).inspect()).rejects.toMatchObject({
      statusCode: 404,
      json: { message: `No such container: ${missing}` },
    });
    const raw = await rawRequest(d.socket, 'GET', `/v1.41/containers/${missing}/json`);
    expect(raw.status).toBe(404);
    expect(raw.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(raw.body)).toEqual({ message: `No such container: ${missing}` });
    for (const [method, path] of [
      ['POST', `/containers/${missing}/start`],
      ['POST', `/containers/${missing}/stop`],
      ['DELETE', `/containers/${missing}`],
      ['GET', `/containers/${missing}/logs?stdout=1`],
    ] as const) {
      const r = await rawRequest(d.socket, method, path);
      expect([method, path, r.status]).toEqual([method, path, 404]);
      expect(JSON.parse(r.body)).toEqual({ message: `No such container: ${missing}` });
    }
    await expectDaemonUp();
  });

  it('400 for an API version outside 1.24-1.45, with the daemon version in Api-Version', async () => {
    const tooNew = await rawRequest(d.socket, 'GET', '/v1.99/containers/json');
    expect(tooNew.status).toBe(400);
    expect(tooNew.headers['api-version']).toBe('1.45');
    expect(JSON.parse(tooNew.body)).toEqual({
      message: 'client version 1.99 is too new. Maximum supported API version is 1.45',
    });
    const tooOld = await rawRequest(d.socket, 'GET', '/v1.12/containers/json');
    expect(tooOld.status).toBe(400);
    expect(JSON.parse(tooOld.body).message).toMatch(/^client version 1.12 is too old/);
  });

  it('409 on a name conflict', async () => {
    const name = uniq('dk-dup');
    const first = await create(name, ['true']);
    const err = await create(name, ['true']).then(
      () => undefined,
      (e: unknown) => e as { statusCode: number; json: { message: string } },
    );
    expect(err?.statusCode).toBe(409);
    expect(err?.json.message).toBe(
      `Conflict. The container name "/${name}" is already in use by container "${first.id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    await expectDaemonUp();
  });

  it('400 on an invalid JSON body and on malformed or unknown filters', async () => {
    const bad = await rawRequest(d.socket, 'POST', '/v1.41/containers/create', '{"Image": ');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ message: expect.any(String) });

    const noImage = await rawRequest(d.socket, 'POST', '/v1.41/containers/create', '{}');
    expect(noImage.status).toBe(400);
    expect(JSON.parse(noImage.body)).toEqual({ message: 'No image specified' });

    const badName = await rawRequest(
      d.socket,
      'POST',
      '/v1.41/containers/create?name=bad%20name',
      '{"Image":"busybox"}',
    );
    expect(badName.status).toBe(400);
    expect(JSON.parse(badName.body).message).toMatch(/Invalid container name \(bad name\)/);

    const malformed = await rawRequest(
      d.socket,
      'GET',
      `/v1.41/containers/json?filters=${encodeURIComponent('{"status":')}`,
    );
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body).message).toMatch(/invalid filter/);

    await expect(docker.listContainers({ filters: { bogus: ['x'] } })).rejects.toMatchObject({
      statusCode: 400,
      json: { message: "invalid filter 'bogus'" },
    });
    await expect(
      docker.listContainers({ all: true, filters: { status: ['sleeping'] } }),
    ).rejects.toMatchObject({ statusCode: 400 });

    const badExec = await rawRequest(d.socket, 'POST', '/v1.41/exec/x/start', 'not json');
    expect(badExec.status).toBe(400);

    await expectDaemonUp();
    // ...and still serves real work.
    expect(d.cli(['run', '--rm', 'busybox', 'echo', 'still-up']).stdout).toBe('still-up\n');
  });
});
