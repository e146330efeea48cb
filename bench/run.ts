/**
 * `npm run bench [start] [pull] [build] [network]`: the figures the issues name, measured on this machine, side
 * by side with a Docker engine when one is installed (dockerd started on its own socket and
 * data root). Nothing is asserted — it prints. With no argument every suite runs.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { benchBuild } from './build.js';
import { benchNetwork } from './network.js';
import { benchPull } from './pull.js';
import { benchStart } from './start.js';

const SUITES: Record<string, (base: string) => Promise<void>> = {
  start: benchStart,
  pull: benchPull,
  build: benchBuild,
  network: benchNetwork,
};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench must run as root');
  const asked = process.argv.slice(2);
  for (const a of asked)
    if (!SUITES[a]) throw new Error(`unknown suite ${a}: ${Object.keys(SUITES).join(', ')}`);
  const base = path.join(os.tmpdir(), `wharf-bench-${process.pid}`);
  try {
    for (const name of asked.length > 0 ? asked : Object.keys(SUITES)) {
      console.log(`\n== ${name}`);
      const dir = path.join(base, name);
      mkdirSync(dir, { recursive: true });
      // An empty daemon.json: neither engine may pick up the host's configuration.
      writeFileSync(path.join(dir, 'none.json'), '{}\n');
      await SUITES[name]!(dir);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
