/**
 * Build secrets (`wharf build --secret`, `RUN --mount=type=secret`). The values arrive in
 * memory with the request and stay there, except while a RUN that mounts one runs: then the
 * secret is a file on a tmpfs mounted for this build (so its bytes never reach a disk, the
 * data root included), bind-mounted read-only into the RUN container and deleted when the
 * step ends. Secrets are never part of a layer (the mount point the runtime creates is left
 * out of the diff), the config, the history or the step cache key: as BuildKit, a changed
 * secret does not invalidate the cache.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { run } from '../common/index.js';

export interface SecretFileOptions {
  mode: number;
  uid: number;
  gid: number;
}

export class BuildSecrets {
  private mounted: Promise<void> | undefined;

  constructor(
    private readonly values: ReadonlyMap<string, Buffer>,
    /** Where this build's tmpfs goes (inside its scratch directory). */
    private readonly dir: string,
  ) {}

  has(id: string): boolean {
    return this.values.has(id);
  }

  private mount(): Promise<void> {
    this.mounted ??= (async () => {
      let total = 0;
      for (const v of this.values.values()) total += v.length;
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      // Room for every secret a few times over (concurrent steps), at least 1 MiB.
      const size = Math.max(1024 * 1024, total * 4 + 64 * 1024);
      await run([
        'mount',
        '-t',
        'tmpfs',
        '-o',
        `size=${size},mode=0700,nosuid,nodev`,
        'wharf-build-secrets',
        this.dir,
      ]);
    })();
    return this.mounted;
  }

  /** The secret `id` as a file on the tmpfs (undefined when not given); remove it after use. */
  async file(id: string, o: SecretFileOptions): Promise<string | undefined> {
    const value = this.values.get(id);
    if (value === undefined) return undefined;
    await this.mount();
    const file = path.join(this.dir, randomBytes(12).toString('hex'));
    await fsp.writeFile(file, value, { mode: 0o600, flag: 'wx' });
    await fsp.chown(file, o.uid, o.gid);
    await fsp.chmod(file, o.mode);
    return file;
  }

  /** Unmount the tmpfs (the files go with it). */
  async close(): Promise<void> {
    if (!this.mounted) return;
    await this.mounted.catch(() => undefined);
    await run(['umount', '--', this.dir], { allowFailure: true });
    await fsp.rmdir(this.dir).catch(() => undefined);
  }
}
