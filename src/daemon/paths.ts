import path from 'node:path';

import type { DaemonConfig } from './config.js';

/** Every directory the daemon uses, derived once from the config (containerd defaults_linux). */
export function daemonPaths(c: DaemonConfig) {
  return {
    containers: path.join(c.dataRoot, 'containers'),
    image: path.join(c.dataRoot, 'image'),
    content: path.join(c.dataRoot, 'content'),
    snapshots: path.join(c.dataRoot, 'overlay'),
    network: path.join(c.dataRoot, 'network'),
    volumes: path.join(c.dataRoot, 'volumes'),
    bundles: path.join(c.execRoot, 'containers'),
    runcRoot: path.join(c.execRoot, 'runc'),
    exits: path.join(c.execRoot, 'exits'),
    specFifos: path.join(c.execRoot, 'spec-fifos'),
    netns: path.join(c.execRoot, 'netns'),
  };
}

export type DaemonPaths = ReturnType<typeof daemonPaths>;
