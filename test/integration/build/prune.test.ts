/**
 * `docker builder prune` with BuildKit's rules, as dockerd applies them: without -a the
 * records an image shares stay; `--filter until=…` keeps what was used recently;
 * `--keep-storage` removes the least recently used only until the cache fits; -a removes
 * everything; bad filters are refused in dockerd's words.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type DaemonHandle } from '../../harness/daemon.js';
import { rawRequest } from '../../harness/streams.js';
import { writeContext } from './helpers.js';

const ENV = { ...process.env, DOCKER_BUILDKIT: '0' };
let d: DaemonHandle;
let tmp: string;
let ctx: string;

beforeAll(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-prune-'));
  // Stage `scratchpad` makes a layer no image keeps (a private record); the final stage's
  // layers are the tagged image's (shared records).
  ctx = await writeContext(tmp, 'ctx', {
    Dockerfile: [
      'FROM busybox AS scratchpad',
      'RUN echo made-in-scratchpad > /t',
      'FROM busybox',
      'COPY a.txt /a.txt',
      'COPY --from=scratchpad /t /t',
      'RUN cat /a.txt /t > /both',
    ].join('\n'),
    'a.txt': 'a\n',
  });
});
afterAll(async () => {
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Build the context; the steps (by number) that ran rather than came from the cache. */
function build(): { ran: number[]; id: string } {
  const r = d.cli(['build', '-t', 'prune-test', ctx], { env: ENV, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stdout}\n${r.stderr}`);
  const ran: number[] = [];
  for (const s of r.stdout.split(/^Step /m).slice(1)) {
    const n = Number(/^(\d+)\//.exec(s)![1]);
    if (!s.startsWith(`${n}/6 : FROM`) && !s.includes('Using cache')) ran.push(n);
  }
  return { ran, id: /Successfully built ([0-9a-f]{12})/.exec(r.stdout)![1]! };
}

function prune(args: string[]): { code: number; stdout: string; stderr: string } {
  return d.cli(['builder', 'prune', '-f', ...args], { env: ENV });
}

describe('builder prune', () => {
  it('keeps recently used records with until, and all of them within keep-storage', () => {
    const first = build();
    expect(first.ran).toEqual([2, 4, 5, 6]);
    let r = prune(['--filter', 'until=24h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('Deleted build cache objects');
    r = prune(['-a', '--keep-storage', '1GB']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('Deleted build cache objects');
    expect(build().ran).toEqual([]);
  });

  it('without -a removes only what no image shares; the image is rebuilt the same', () => {
    const before = build();
    const r = prune([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Deleted build cache objects:');
    expect(r.stdout).toMatch(/Total reclaimed space: [1-9]/);
    // Only the scratchpad stage's RUN ran again; the final stage's records were kept.
    const after = build();
    expect(after.ran).toEqual([2]);
    expect(after.id).toBe(before.id);
  });

  it('-a removes every record; a filter by type selects among them', () => {
    let r = prune(['-a', '--filter', 'type=exec.cachemount']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('Deleted build cache objects');
    r = prune(['-a']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Deleted build cache objects:');
    expect(build().ran).toEqual([2, 4, 5, 6]);
  });

  it('keep-storage removes the least recently used records until the cache fits', () => {
    // One byte: everything with a size goes, oldest first.
    const r = prune(['-a', '--keep-storage', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Deleted build cache objects:');
    expect(build().ran).toEqual([2, 4, 5, 6]);
  });

  it("refuses bad filters and keep-storage values in dockerd's words", async () => {
    let r = prune(['--filter', 'until=yesterday']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `"until" filter expects a duration (e.g., '24h'): time: invalid duration "yesterday"`,
    );
    r = prune(['--filter', 'dangling=true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("invalid filter 'dangling'");
    const res = await rawRequest(d.socket, 'POST', '/v1.41/build/prune?keep-storage=ten');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).message).toContain(
      'keep-storage is in bytes and expects an integer, got ten',
    );
  });
});
