/**
 * Build tar archives in memory for tests, with tar-stream (an implementation independent of
 * ours), so hostile inputs are written exactly as an attacker would.
 */
import tarStream from 'tar-stream';

export interface TestEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  pax?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
}

export async function buildTar(entries: TestEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        {
          name: e.name,
          type,
          mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          mtime: e.mtime ?? new Date(1_700_000_000_000),
          ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
          ...(e.pax ? { pax: e.pax } : {}),
          ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
        },
        // non-files carry no data: an empty body
        type === 'file' ? (e.content ?? '') : '',
        (err?: Error | null) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
