/**
 * Terminals: `docker run -t` / `docker exec -t` from a real pty, dockerode with Tty (raw,
 * unmultiplexed streams), resizes reaching the container, and detach keys on attach.
 */
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { eventually, startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { dockerLine, ptyRun, ptySpawn, type PtySession } from '../../harness/pty.js';
import { ended, Sink, uniq } from '../../harness/streams.js';

const LABEL = 'wharf.test';
const FILE = 'tty';

let d: DaemonHandle;
let docker: Docker;
const cleanup: string[] = [];
const sessions: PtySession[] = [];

beforeAll(async () => {
  d = await startDaemon();
  docker = d.docker;
});
afterEach(async () => {
  for (const s of sessions.splice(0)) s.kill();
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

/** The client's own terminal turns each \r\n into \r\r\n on its way out: compare lines. */
const lines = (s: string): string => s.replace(/\r+\n/g, '\n');

/** `docker run -d` with a unique name, labelled; removed after the test. */
function runDetached(prefix: string, args: string[]): string {
  const name = uniq(prefix);
  const r = d.cli(['run', '-d', '--name', name, '--label', `${LABEL}=${FILE}`, ...args]);
  expect(r.stderr).toBe('');
  cleanup.push(r.stdout.trim());
  return r.stdout.trim();
}

async function createTty(prefix: string, cmd: string[]): Promise<Docker.Container> {
  const c = await docker.createContainer({
    name: uniq(prefix),
    Image: 'busybox',
    Cmd: cmd,
    Tty: true,
    OpenStdin: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Labels: { [LABEL]: FILE },
  });
  cleanup.push(c.id);
  return c;
}

async function attachRaw(
  c: Docker.Container,
  extra: Record<string, unknown> = {},
): Promise<{ stream: NodeJS.ReadWriteStream; out: Sink }> {
  const stream = (await c.attach({
    stream: true,
    stdin: true,
    stdout: true,
    stderr: true,
    hijack: true,
    ...extra,
  })) as unknown as NodeJS.ReadWriteStream;
  const out = new Sink();
  stream.pipe(out.stream);
  return { stream, out };
}

describe('docker CLI on a terminal', () => {
  it('run -t gives the container /dev/pts/0 and TERM', () => {
    const r = ptyRun(
      d,
      dockerLine(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'tty; echo $TERM']),
    );
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toBe('/dev/pts/0\nxterm\n');
  });

  it('run without -t has no terminal, even from one', () => {
    const r = ptyRun(d, dockerLine(['run', '--rm', 'busybox', 'sh', '-c', 'tty; true']));
    expect(lines(r.stdout)).toBe('not a tty\n');
  });

  it('run -t takes the size of the client terminal', () => {
    const run = dockerLine(['run', '--rm', '-t', 'busybox', 'stty', 'size']);
    const r = ptyRun(d, `stty rows 33 cols 111; ${run}`);
    expect(lines(r.stdout)).toBe('33 111\n');
  });

  it('run -it: typed input reaches the container, its exit code comes back', () => {
    const r = ptyRun(
      d,
      dockerLine(['run', '--rm', '-it', 'busybox', 'sh', '-c', 'read x; echo "got <$x>"; exit 3']),
      { input: 'hello\n' },
    );
    expect(lines(r.stdout)).toMatch(/got <hello>\n/);
    expect(r.code).toBe(3);
  });

  it('exec -t gets a pty of the client terminal size', () => {
    const id = runDetached('tty-exec', ['busybox', 'sleep', '600']);
    const r = ptyRun(
      d,
      `stty rows 21 cols 77; ${dockerLine(['exec', '-t', id, 'sh', '-c', 'tty; stty size'])}`,
    );
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toMatch(/^\/dev\/pts\/\d+\n21 77\n$/);
    // Without -t the exec has no terminal.
    expect(d.cli(['exec', id, 'sh', '-c', 'tty; true']).stdout).toBe('not a tty\n');
  });

  it('attach, then ctrl-p ctrl-q detaches and leaves the container running', async () => {
    const id = runDetached('tty-detach', ['-it', 'busybox', 'sh']);
    const s = ptySpawn(d, dockerLine(['attach', id]));
    sessions.push(s);
    s.write('echo "marker-$((6*7))"\n');
    await s.out.until('marker-42');
    s.write('\x10\x11');
    // The docker CLI says so and exits 1 on a detach from `docker attach` (as with dockerd).
    expect(await s.exited).toBe(1);
    expect(s.out.text).toMatch(/read escape sequence/);
    const st = JSON.parse(d.cli(['inspect', id]).stdout)[0].State;
    expect(st.Running).toBe(true);
    expect(d.cli(['exec', id, 'echo', 'still-here']).stdout).toBe('still-here\n');
  });

  it('attach --detach-keys takes other keys', async () => {
    const id = runDetached('tty-keys', ['-it', 'busybox', 'sh']);
    const s = ptySpawn(d, dockerLine(['attach', '--detach-keys', 'ctrl-x,x', id]));
    sessions.push(s);
    s.write('echo "mark-$((2+3))"\n');
    await s.out.until('mark-5');
    s.write('\x18x');
    expect(await s.exited).toBe(1);
    expect(s.out.text).toMatch(/read escape sequence/);
    expect(JSON.parse(d.cli(['inspect', id]).stdout)[0].State.Running).toBe(true);
  });
});

describe('dockerode with Tty', () => {
  it('streams raw (unmultiplexed) output and follows resize', async () => {
    const c = await createTty('tty-resize', [
      'sh',
      '-c',
      'stty -echo; tty; while read l; do echo "size:$(stty size)"; done',
    ]);
    const { out } = await attachRaw(c);
    await c.start();
    await out.until('/dev/pts/0');
    // No 8-byte frame headers: the first byte is the program's.
    expect(out.text.startsWith('/dev/pts/0')).toBe(true);
    await c.resize({ h: 33, w: 111 });
    (await attachRaw(c)).stream.write('\n');
    await out.until('size:33 111');
    await c.resize({ h: 40, w: 100 });
    const second = await attachRaw(c);
    second.stream.write('\n');
    await second.out.until('size:40 100');

    const info = await c.inspect();
    expect(info.Config.Tty).toBe(true);
    await c.kill();
  });

  it('logs of a Tty container are raw too', async () => {
    const c = await createTty('tty-logs', ['sh', '-c', 'echo one; echo two >&2']);
    await c.start();
    await c.wait();
    const body = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    expect(body.toString()).toBe('one\r\ntwo\r\n');
  });

  it('exec with Tty: raw stream, /dev/pts, resize through exec.resize', async () => {
    const c = await createTty('tty-dexec', ['sleep', '600']);
    await c.start();
    const exec = await c.exec({
      Cmd: ['sh', '-c', 'stty -echo; tty; read l; stty size'],
      Tty: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = (await exec.start({
      hijack: true,
      stdin: true,
      Tty: true,
    })) as unknown as NodeJS.ReadWriteStream;
    const out = new Sink();
    stream.pipe(out.stream);
    await out.until(/\/dev\/pts\/\d+\r\n/);
    await exec.resize({ h: 25, w: 99 });
    stream.write('\n');
    await out.until('25 99');
    await ended(stream);
    expect(out.text).toMatch(/^\/dev\/pts\/\d+\r\n25 99\r\n$/);
    const info = await eventually(async () => {
      const i = await exec.inspect();
      return i.Running ? undefined : i;
    });
    expect(info?.ExitCode).toBe(0);
    expect(info?.ProcessConfig.tty).toBe(true);
  });

  it('resize of a container that is not running is a 409, as dockerd', async () => {
    const c = await createTty('tty-stopped', ['true']);
    await expect(c.resize({ h: 10, w: 10 })).rejects.toMatchObject({
      statusCode: 409,
      json: { message: `Container ${c.id} is not running` },
    });
    expect(d.alive).toBe(true);
  });

  it('detach keys on a hijacked attach: the stream ends, the container keeps running', async () => {
    const c = await createTty('tty-dkeys', ['sh']);
    await c.start();
    const { stream, out } = await attachRaw(c, { detachKeys: 'ctrl-p,ctrl-q' });
    stream.write('echo "v-$((40+2))"\n');
    await out.until('v-42');
    stream.write(Buffer.from([0x10, 0x11]));
    await ended(stream);
    expect((await c.inspect()).State.Running).toBe(true);
    expect(d.cli(['exec', c.id, 'echo', 'alive']).stdout).toBe('alive\n');
    await c.kill();
  });

  it('after a detach, a new attach can type into the container again', async () => {
    const c = await createTty('tty-reattach', ['sh']);
    await c.start();
    const first = await attachRaw(c, { detachKeys: 'ctrl-p,ctrl-q' });
    first.stream.write('echo "v-$((40+2))"\n');
    await first.out.until('v-42');
    first.stream.write(Buffer.from([0x10, 0x11]));
    await ended(first.stream);
    const again = await attachRaw(c);
    again.stream.write('echo "w-$((1+1))"\n');
    await again.out.until('w-2');
    await c.kill();
  });

  it('a partial detach sequence is passed through to the container', async () => {
    const c = await createTty('tty-partial', [
      'sh',
      '-c',
      'stty raw -echo; dd bs=1 count=3 2>/dev/null | od -An -tx1',
    ]);
    const { stream, out } = await attachRaw(c, { detachKeys: 'ctrl-p,ctrl-q' });
    await c.start();
    // ctrl-p followed by something other than ctrl-q: both bytes go through.
    stream.write(Buffer.from([0x10, 0x61, 0x62]));
    expect(((await c.wait()) as { StatusCode: number }).StatusCode).toBe(0);
    await out.until('10 61 62');
  });
});
