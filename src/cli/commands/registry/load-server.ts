/**
 * The one CLI file allowed to reach the registry server (eslint.config.js). The server runs
 * inside `wharf`, but its code must stay out of the CLI bundle (dist/wharf.mjs), whose size
 * is part of every command's start-up time: it is loaded at run time from tsc's output, through
 * a specifier esbuild cannot follow. Only types are imported statically (erased at build).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type * as RegistryServer from '../../../registry/server/index.js';

export type RegistryServerModule = typeof RegistryServer;

export async function loadRegistryServer(): Promise<RegistryServerModule> {
  // In the start-up snapshot (CommonJS) import.meta is empty: the code stands for
  // dist/wharf.mjs, found from the launcher's path (bin/wharf, argv[1]).
  const here =
    (import.meta.url as string | undefined) ??
    pathToFileURL(path.join(path.dirname(process.argv[1] ?? ''), '../dist/wharf.mjs')).href;
  const candidates = [
    // Bundled: this code is in dist/wharf.mjs, tsc's output in dist/src/.
    new URL('./src/registry/server/index.js', here),
    // Unbundled: this file is dist/src/cli/commands/registry/load-server.js.
    new URL('../../../registry/server/index.js', here),
  ];
  for (const url of candidates) {
    if (!existsSync(fileURLToPath(url))) continue;
    const specifier = url.href;
    return (await import(specifier)) as RegistryServerModule;
  }
  throw new Error('registry server code not found (dist/src/registry/server): run npm run build');
}
