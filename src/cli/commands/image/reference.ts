/** Reference normalisation the pull/push commands need (docker's ParseNormalizedNamed). */
import { registryOf } from '../../docker-config.js';

/** `busybox` → `docker.io/library/busybox:latest` (no tag added with `withTag: false`). */
export function normalizeRef(ref: string, withTag = true): string {
  const domain = registryOf(ref);
  let rest = ref;
  if (
    domain !== 'docker.io' ||
    ref.startsWith('docker.io/') ||
    ref.startsWith('index.docker.io/')
  ) {
    rest = ref.slice(ref.indexOf('/') + 1);
  }
  if (domain === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  const name = `${domain}/${rest}`;
  if (!withTag) return name;
  const lastSlash = name.lastIndexOf('/');
  const hasTag = name.slice(lastSlash).includes(':') || name.includes('@');
  return hasTag ? name : `${name}:latest`;
}
