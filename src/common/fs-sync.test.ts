import os from 'node:os';

import { describe, expect, it } from 'vitest';

import { FilesystemSync } from './fs.js';

describe('FilesystemSync', () => {
  it('runs one sync at a time; callers arriving meanwhile share the next one', async () => {
    const s = new FilesystemSync(os.tmpdir());
    const first = s.sync();
    const second = s.sync();
    const third = s.sync();
    expect(second).not.toBe(first);
    expect(third).toBe(second);
    await Promise.all([first, second, third]);
    // Idle again: a new call starts a new sync.
    const fourth = s.sync();
    expect(fourth).not.toBe(second);
    await fourth;
  });

  it('reports a failed sync to its callers and recovers', async () => {
    const s = new FilesystemSync('/nonexistent/wharf-test');
    await expect(s.sync()).rejects.toThrow();
    await expect(s.sync()).rejects.toThrow();
  });
});
