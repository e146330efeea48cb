import { invalidArgument, notImplemented } from '../common/index.js';

/** A container's HostConfig.NetworkMode, parsed. */
export type NetworkMode =
  | { kind: 'bridge' }
  | { kind: 'none' }
  | { kind: 'host' }
  | { kind: 'container'; container: string };

/**
 * Parse Docker's NetworkMode: '' and 'default' mean the default bridge. User-defined networks
 * come with a later issue and are refused as not implemented until then.
 */
export function parseNetworkMode(mode: string | undefined): NetworkMode {
  const m = mode ?? '';
  if (m === '' || m === 'default' || m === 'bridge') return { kind: 'bridge' };
  if (m === 'none') return { kind: 'none' };
  if (m === 'host') return { kind: 'host' };
  if (m.startsWith('container:')) {
    const container = m.slice('container:'.length);
    if (container === '')
      throw invalidArgument('invalid network mode: container: needs a container name or ID');
    return { kind: 'container', container };
  }
  throw notImplemented(`network ${m} not found: user-defined networks are not supported yet`);
}
