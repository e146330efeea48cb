/**
 * The directories the runtime creates in a RUN container's rootfs to mount a secret on
 * (`/run`, `/run/secrets` for the default target) show up in the step's diff even though
 * the step never wrote them. As BuildKit cleans its mount stubs up, they are dropped from
 * the layer tar when nothing else below them is in it (an existing directory the step
 * wrote into keeps its entry: its children need it). The secret's own mount point is left
 * out earlier (commitSource's exclusions). A dropped directory that existed in the image
 * before keeps its old metadata (only its mtime differs from what the diff said).
 */
import { Readable } from 'node:stream';

import {
  encodeHeader,
  END_OF_ARCHIVE,
  padding,
  readTar,
  type TarHeader,
} from '../archive/index.js';

/** The ancestors of `targets` (absolute container paths), as tar names without slashes. */
export function stubDirs(targets: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const t of targets) {
    const parts = t.split('/').filter((p) => p !== '');
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return out;
}

const nameOf = (h: TarHeader): string => h.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');

/** `tar` without the entries of `dirs` that have nothing else below them in it. */
export function dropMountStubs(tar: Readable, dirs: ReadonlySet<string>): Readable {
  if (dirs.size === 0) return tar;
  return Readable.from(
    (async function* () {
      // Stub directories seen whose fate is not known yet, outermost first.
      const pending: TarHeader[] = [];
      for await (const { header, body } of readTar(tar)) {
        const name = nameOf(header);
        // Pending directories this entry is not below can have nothing more: drop them.
        while (pending.length > 0 && !name.startsWith(`${nameOf(pending.at(-1)!)}/`)) pending.pop();
        if (header.type === 'dir' && dirs.has(name)) {
          pending.push(header);
          continue;
        }
        // Something real below them: they stay, in order, before it.
        for (const h of pending.splice(0)) yield encodeHeader(h);
        yield encodeHeader(header);
        if (header.type === 'file') {
          for await (const chunk of body) yield chunk;
          yield padding(header.size);
        }
      }
      yield END_OF_ARCHIVE;
    })(),
    { objectMode: false },
  );
}
