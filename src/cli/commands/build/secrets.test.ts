import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { readSecret, secretsHeader } from './secrets.js';

describe('--secret', () => {
  it('reads a file, an env var, and an id alone from the environment', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-secret-unit-'));
    try {
      const file = path.join(dir, 's');
      await fsp.writeFile(file, 'from-file');
      const env = { MY_VAR: 'from-env', tok: 'id-env' };
      expect(await readSecret(`id=a,src=${file}`, env)).toEqual(['a', Buffer.from('from-file')]);
      expect(await readSecret(`id=a,source=${file},type=file`, env)).toEqual([
        'a',
        Buffer.from('from-file'),
      ]);
      expect(await readSecret('id=b,env=MY_VAR', env)).toEqual(['b', Buffer.from('from-env')]);
      expect(await readSecret('id=tok', env)).toEqual(['tok', Buffer.from('id-env')]);
      const h = await secretsHeader([`id=a,src=${file}`], env);
      const decoded = JSON.parse(
        Buffer.from(h!['X-Wharf-Build-Secrets']!, 'base64url').toString(),
      ) as Record<string, string>;
      expect(Buffer.from(decoded['a']!, 'base64').toString()).toBe('from-file');
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad specs', async () => {
    await expect(readSecret('id=x,bogus=1', {})).rejects.toThrow("unexpected key 'bogus'");
    await expect(readSecret('id=x,env=NOPE', {})).rejects.toThrow('NOPE not set');
    await expect(readSecret('id=x,type=ssh', {})).rejects.toThrow('unsupported secret type');
    await expect(readSecret('src', {})).rejects.toThrow('expected key=value');
    expect(await secretsHeader([], {})).toBeUndefined();
  });
});
