/**
 * `wharf build --secret` and `RUN --mount=type=secret`: the secret is readable by the RUN
 * that mounts it (default target, custom target, mode, owner), and its bytes reach no layer,
 * no config, no history, no cache record and nothing under the data root. A missing
 * required secret fails with BuildKit's message; a missing optional one is not mounted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemon, type CliResult, type DaemonHandle } from '../../harness/daemon.js';
import { writeContext } from './helpers.js';

let d: DaemonHandle;
let tmp: string;
// Unique bytes, so finding them anywhere means a leak.
const FILE_SECRET = `file-secret-${randomBytes(16).toString('hex')}`;
const ENV_SECRET = `env-secret-${randomBytes(16).toString('hex')}`;

beforeAll(async () => {
  process.env['WHARF_TEST_BUILD_SECRET'] = ENV_SECRET; // the harness passes process.env on
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-build-secrets-'));
});
afterAll(async () => {
  delete process.env['WHARF_TEST_BUILD_SECRET'];
  await d?.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

function ok(r: CliResult): string {
  if (r.code !== 0)
    throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}\n${d.output().slice(-3000)}`);
  return r.stdout;
}

const sh = (ref: string, script: string) =>
  ok(d.cli(['run', '--rm', '--entrypoint', '/bin/sh', ref, '-c', script]));

/** Every file under `dir` (gzip ones decompressed) that holds `needle`. */
async function filesHolding(dir: string, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (p: string): Promise<void> => {
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) {
      for (const n of await fsp.readdir(p)) await walk(path.join(p, n));
      return;
    }
    if (!st.isFile()) return;
    let buf = await fsp.readFile(p);
    if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
    if (needles.some((n) => buf.includes(n))) found.push(p);
  };
  await walk(dir);
  return found;
}

/** Whether any entry of a saved image (layers decompressed) holds one of `needles`. */
async function saveHolds(ref: string, needles: string[]): Promise<string[]> {
  const file = path.join(tmp, `${ref.replace(/\W/g, '_')}.tar`);
  ok(d.wharf(['save', '-o', file, ref]));
  const hits: string[] = [];
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        let buf = Buffer.concat(chunks);
        if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
        if (needles.some((n) => buf.includes(n))) hits.push(h.name);
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(await fsp.readFile(file));
  await done;
  return hits;
}

describe('build secrets', () => {
  it('mounts --secret values for the RUNs that ask, and stores them nowhere', async () => {
    const secretFile = path.join(tmp, 'token.txt');
    await fsp.writeFile(secretFile, FILE_SECRET);
    const dir = await writeContext(tmp, 'secrets', {
      Dockerfile: [
        'FROM busybox',
        'ARG EXPECT_SHA',
        // What the RUNs record is derived (lengths, permissions, a comparison), never the bytes.
        'RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /len && stat -c "%a %u:%g" /run/secrets/tok > /perm',
        'RUN --mount=type=secret,id=tok,target=/etc/app/key,mode=0440,uid=1000,gid=2000 stat -c "%a %u:%g" /etc/app/key > /perm2 && su wharf -s /bin/sh -c "cat /etc/app/key >/dev/null" && echo readable > /by-uid',
        'RUN --mount=type=secret,id=envtok,required=true test "$(sha256sum < /run/secrets/envtok | cut -c1-64)" = "$EXPECT_SHA" && echo same > /env-ok',
        'RUN --mount=type=secret,id=absent sh -c "test ! -e /run/secrets/absent && echo skipped > /optional"',
      ].join('\n'),
    });
    const out = ok(
      d.wharf(
        [
          'build',
          '--progress-plain',
          '-t',
          'sec-ok',
          '--secret',
          `id=tok,src=${secretFile}`,
          '--secret',
          'id=envtok,env=WHARF_TEST_BUILD_SECRET',
          '--build-arg',
          `EXPECT_SHA=${createHash('sha256').update(ENV_SECRET).digest('hex')}`,
          dir,
        ],
        { timeoutMs: 120_000 },
      ),
    );
    expect(out).toContain('Successfully tagged sec-ok:latest');
    expect(sh('sec-ok', 'cat /len /perm /perm2 /by-uid /env-ok /optional')).toBe(
      `${FILE_SECRET.length}\n400 0:0\n440 1000:2000\nreadable\nsame\nskipped\n`,
    );
    // No mount point left behind for the secret files, nor the directories made for them.
    expect(sh('sec-ok', 'ls -d /run /etc/app 2>&1; true')).toBe(
      'ls: /run: No such file or directory\nls: /etc/app: No such file or directory\n',
    );

    const needles = [FILE_SECRET, ENV_SECRET];
    expect(await saveHolds('sec-ok', needles)).toEqual([]);
    const inspect = ok(d.cli(['image', 'inspect', 'sec-ok']));
    const history = ok(d.cli(['history', '--no-trunc', 'sec-ok']));
    for (const n of needles) {
      expect(inspect).not.toContain(n);
      expect(history).not.toContain(n);
    }
    expect(await filesHolding(d.dataRoot, needles)).toEqual([]);
    const mounts = await fsp.readFile('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain('wharf-build-secrets');

    // The cache does not depend on a secret's value (as BuildKit): a rebuild with another
    // value reuses every step.
    await fsp.writeFile(secretFile, `other-${FILE_SECRET}`);
    const again = ok(
      d.wharf(
        [
          'build',
          '--progress-plain',
          '-t',
          'sec-ok2',
          '--secret',
          `id=tok,src=${secretFile}`,
          '--secret',
          'id=envtok,env=WHARF_TEST_BUILD_SECRET',
          '--build-arg',
          `EXPECT_SHA=${createHash('sha256').update(ENV_SECRET).digest('hex')}`,
          dir,
        ],
        { timeoutMs: 120_000 },
      ),
    );
    expect(again.match(/Using cache/g)).toHaveLength(5);
  });

  it('fails a RUN whose required secret was not given, with BuildKit message', async () => {
    const dir = await writeContext(tmp, 'missing', {
      Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=nope,required true\n',
    });
    const r = d.wharf(['build', '--progress-plain', '-t', 'sec-missing', dir], {
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('secret nope: not found');
    expect(d.cli(['image', 'inspect', 'sec-missing']).code).toBe(1);
  });

  it('refuses a bad --secret before sending anything', () => {
    const r = d.wharf(['build', '--secret', 'id=x,src=/nonexistent/file', tmp]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('failed to read secret x');
  });
});
