import { invalidArgument } from '../common/errors.js';

export const DEFAULT_HOST = 'unix:///run/wharf/wharf.sock';

/** Where the daemon listens: only unix sockets for now. */
export interface DaemonHost {
  /** As the user wrote it (for messages): unix:///run/wharf/wharf.sock */
  url: string;
  socketPath: string;
}

/**
 * The daemon address: the -H flag, else WHARF_HOST, else DOCKER_HOST, else the default socket.
 * A bare path is accepted as a unix socket.
 */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv): DaemonHost {
  const raw = flag || env.WHARF_HOST || env.DOCKER_HOST || DEFAULT_HOST;
  return parseHost(raw);
}

export function parseHost(raw: string): DaemonHost {
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (socketPath === '') throw invalidArgument(`invalid bind address (${raw}): empty path`);
    return { url: raw, socketPath };
  }
  if (raw.startsWith('/')) return { url: `unix://${raw}`, socketPath: raw };
  throw invalidArgument(`unsupported daemon address ${raw}: only unix:// sockets are supported`);
}
