import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DeferredFlush, readBootId } from './deferred-flush.js';

describe('DeferredFlush', () => {
  it('runs what follows a flush only once the writers are done, and drains', async () => {
    const f = new DeferredFlush(os.tmpdir(), undefined, { quietMs: 100, maxDelayMs: 10_000 });
    const done = f.begin();
    const order: string[] = [];
    const t0 = Date.now();
    let flushedAt = 0;
    f.after('x', async () => {
      flushedAt = Date.now();
      order.push('flushed');
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push('writer done');
    const doneAt = Date.now();
    done();
    done(); // idempotent
    await f.flush();
    expect(order).toEqual(['writer done', 'flushed']);
    // Only once writers were quiet for quietMs.
    expect(flushedAt - doneAt).toBeGreaterThanOrEqual(95);
    expect(flushedAt - t0).toBeLessThan(5_000);
    await f.drain();
  });

  it('drain flushes at once instead of waiting for quiet', async () => {
    const f = new DeferredFlush(os.tmpdir(), undefined, { quietMs: 60_000, maxDelayMs: 60_000 });
    let ran = false;
    f.after('x', async () => void (ran = true));
    const t0 = Date.now();
    await f.drain();
    expect(ran).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('does not wait for a writer forever', async () => {
    const f = new DeferredFlush(os.tmpdir(), undefined, { quietMs: 10, maxDelayMs: 20 });
    const done = f.begin();
    let ran = false;
    f.after('x', async () => void (ran = true));
    await f.flush();
    expect(ran).toBe(true);
    done();
  });

  it('keeps going when a flush fails (the object stays unflushed)', async () => {
    const f = new DeferredFlush('/nonexistent/wharf-test', undefined);
    let ran = false;
    f.after('x', async () => void (ran = true));
    await f.drain();
    expect(ran).toBe(false);
  });
});

describe('readBootId', () => {
  it('reads the kernel boot id, or a test file', async () => {
    expect(await readBootId()).toMatch(/^[0-9a-f-]{36}$/);
    const file = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-boot-')), 'id');
    await fsp.writeFile(file, 'fake-boot\n');
    expect(await readBootId(file)).toBe('fake-boot');
    await fsp.rm(path.dirname(file), { recursive: true });
  });
});
