/** Choosing one manifest from an OCI index / Docker manifest list by platform. */
import { invalidArgument, notFound } from '../../common/index.js';
import type { Descriptor, Platform } from '../../oci/index.js';

/** `linux/amd64`, `linux/arm64/v8`, `arm64` → a platform (os defaults to linux). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) {
    throw invalidArgument(`"${s}": unknown operating system or architecture: invalid argument`);
  }
  let os = 'linux';
  let rest = parts;
  if (parts.length > 1 || ['linux', 'windows', 'darwin', 'freebsd'].includes(parts[0]!)) {
    os = parts[0]!;
    rest = parts.slice(1);
  }
  const [arch0 = 'amd64', variant0] = rest;
  const { architecture, variant } = normalizeArch(arch0, variant0);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** containerd's platforms.Normalize for the architectures one meets. */
function normalizeArch(arch: string, variant?: string): { architecture: string; variant?: string } {
  switch (arch) {
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', ...(variant && variant !== 'v1' ? { variant } : {}) };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', ...(variant && variant !== 'v8' ? { variant } : {}) };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'i386':
    case '386':
      return { architecture: '386' };
    default:
      return { architecture: arch, ...(variant ? { variant } : {}) };
  }
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function matches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  const h = normalizeArch(have.architecture, have.variant);
  if (have.os !== want.os || h.architecture !== want.architecture) return false;
  // No variant asked: any variant matches (best one chosen by order); asked: must be equal.
  return want.variant === undefined || h.variant === want.variant;
}

/**
 * The manifest of `want` in an index. Attestation manifests (`vnd.docker.reference.type`)
 * and entries without a platform are never chosen. When several match (variants), the first
 * listed wins, as containerd's default matcher orders equal candidates.
 */
export function selectManifest(manifests: readonly Descriptor[], want: Platform): Descriptor {
  const hit = manifests.find(
    (m) => !m.annotations?.['vnd.docker.reference.type'] && matches(want, m.platform),
  );
  if (!hit) {
    throw notFound(
      `no matching manifest for ${formatPlatform(want)} in the manifest list entries`,
      'ERR_NO_MATCHING_MANIFEST',
    );
  }
  return hit;
}
