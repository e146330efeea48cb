/**
 * Build platforms: the target (`--platform` / `platform=`, else the daemon's), each stage's
 * (`FROM --platform=…`), and BuildKit's predefined platform args (TARGETPLATFORM, TARGETOS,
 * TARGETARCH, TARGETVARIANT and the BUILD* ones), visible to FROM lines and to stages that
 * declare them. Wharf runs RUN steps natively only, so a base image of another platform can
 * be a base for COPY-only stages, not for RUN.
 */
import { invalidArgument } from '../common/index.js';

export interface BuildPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The platform this daemon runs (and so builds) for. */
export function hostPlatform(): BuildPlatform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return { os: 'linux', architecture: arch };
}

/** `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7` (containerd's normalisation of aliases). */
export function parseBuildPlatform(s: string): BuildPlatform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.some((p) => p === '') || parts.length > 3 || parts.length < 1)
    throw invalidArgument(`"${s}": unknown operating system or architecture: invalid argument`);
  const [os, arch0 = 'amd64', variant0] = parts.length === 1 ? ['linux', parts[0]!] : parts;
  let arch = arch0;
  let variant: string | undefined = variant0;
  if (!/^[a-z0-9_]+$/.test(os!) || !/^[a-z0-9_-]+$/.test(arch))
    throw invalidArgument(`"${s}": unknown operating system or architecture: invalid argument`);
  if (arch === 'x86_64' || arch === 'x86-64') arch = 'amd64';
  if (arch === 'aarch64') arch = 'arm64';
  if ((arch === 'amd64' && variant === 'v1') || (arch === 'arm64' && variant === 'v8'))
    variant = undefined;
  return { os: os!, architecture: arch, ...(variant ? { variant } : {}) };
}

export function formatBuildPlatform(p: BuildPlatform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Whether an image of `have` serves `want` (a variant asked must be equal). */
export function platformMatches(want: BuildPlatform, have: BuildPlatform): boolean {
  const h = parseBuildPlatform(formatBuildPlatform(have));
  return (
    h.os === want.os &&
    h.architecture === want.architecture &&
    (want.variant === undefined || h.variant === want.variant)
  );
}

/** BuildKit's automatic platform args. */
export function platformArgs(target: BuildPlatform, build: BuildPlatform): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatBuildPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', formatBuildPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}
