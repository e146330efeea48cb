import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DeferredFlush, readBootId } from './deferred-flush.js';

describe('DeferredFlush', () => {
  it('runs what follows a flush only once the writers are done, and drains', async () => {
    const f = new DeferredFlush(os.tmpdir(), undefined, 10_000);
    const done = f.begin();
    const order: string[] = [];
    f.after('x', async () => void order.push('flushed'));
    await new Promise((r) => setTimeout(r, 50));
    order.push('writer done');
    done();
    done(); // idempotent
    await f.drain();
    expect(order).toEqual(['writer done', 'flushed']);
  });

  it('does not wait for a writer forever', async () => {
    const f = new DeferredFlush(os.tmpdir(), undefined, 20);
    const done = f.begin();
    let ran = false;
    f.after('x', async () => void (ran = true));
    await f.drain();
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
