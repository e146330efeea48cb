/**
 * Where a repository is served from: the registry's API base URL(s), in the order to try.
 * docker.io is served by registry-1.docker.io (and by the configured mirrors first, for
 * pulls); localhost, 127.0.0.0/8 and the daemon's `insecure-registries` are tried over https
 * without certificate checks, then plain http (as dockerd); everything else https with
 * verified certificates.
 */
import { isIP } from 'node:net';

/** A repository on a registry, as a normalised reference names it. */
export interface RepositoryRef {
  /** `docker.io`, `127.0.0.1:5000`, `registry.example.com`. */
  domain: string;
  /** `library/busybox` */
  path: string;
  tag?: string;
  digest?: string;
}

export interface RegistryHostsConfig {
  /** daemon.json `insecure-registries`: `host[:port]` or CIDR blocks. */
  insecureRegistries: readonly string[];
  /** daemon.json `registry-mirrors`: URLs of docker.io mirrors. */
  mirrors: readonly string[];
}

export interface Endpoint {
  /** `https://registry-1.docker.io` (no trailing slash). */
  base: string;
  /** Whether TLS certificates are verified (false only for insecure registries). */
  verifyTls: boolean;
  /** A mirror: pull-only, and errors there fall through to the next endpoint. */
  mirror: boolean;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
/** The key docker keeps Docker Hub credentials under in config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** The endpoints to try for a repository on `domain`, best first. */
export function endpointsFor(
  domain: string,
  config: RegistryHostsConfig,
  purpose: 'pull' | 'push',
): Endpoint[] {
  const out: Endpoint[] = [];
  if (domain === DOCKER_HUB) {
    if (purpose === 'pull') {
      for (const m of config.mirrors) {
        const url = new URL(m);
        const insecure = url.protocol === 'http:' || isInsecure(url.host, config);
        out.push({ base: url.origin, verifyTls: !insecure, mirror: true });
      }
    }
    out.push({ base: `https://${DOCKER_HUB_API}`, verifyTls: true, mirror: false });
    return out;
  }
  if (isLocal(domain) || isInsecure(domain, config)) {
    // As dockerd (127.0.0.0/8 is always insecure): https first, its certificate not checked,
    // then plain http.
    out.push({ base: `https://${domain}`, verifyTls: false, mirror: false });
    out.push({ base: `http://${domain}`, verifyTls: false, mirror: false });
  } else {
    out.push({ base: `https://${domain}`, verifyTls: true, mirror: false });
  }
  return out;
}

/** `host[:port]` → host (brackets of an IPv6 literal removed). */
export function hostOf(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(1, domain.indexOf(']'));
  const colon = domain.lastIndexOf(':');
  return colon === -1 ? domain : domain.slice(0, colon);
}

function isLocal(domain: string): boolean {
  const host = hostOf(domain);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isInsecure(domain: string, config: RegistryHostsConfig): boolean {
  const host = hostOf(domain);
  for (const entry of config.insecureRegistries) {
    if (entry === domain || entry === host) return true;
    if (entry.includes('/') && isIP(host) === 4 && inCidr(host, entry)) return true;
  }
  return false;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsRaw] = cidr.split('/');
  const bits = Number(bitsRaw);
  if (!net || isIP(net) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) === (ipv4ToInt(net) & mask);
}

/** The key under which a registry's credentials are stored (config.json, X-Registry-Auth). */
export function authKey(domain: string): string {
  return domain === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : domain;
}

/**
 * The registry domain a `docker login` server argument names: `https://index.docker.io/v1/`
 * and friends mean Docker Hub; a URL is reduced to its host.
 */
export function loginDomain(server: string): string {
  let s = server.trim();
  if (s === '' || /^(https?:\/\/)?(index\.)?docker\.io(\/v1\/?)?$/.test(s)) return DOCKER_HUB;
  if (/^(https?:\/\/)?registry-1\.docker\.io\/?$/.test(s)) return DOCKER_HUB;
  s = s.replace(/^https?:\/\//, '');
  const slash = s.indexOf('/');
  return slash === -1 ? s : s.slice(0, slash);
}

/** `/v2/<name>/manifests/<reference>` and friends. */
export function manifestPath(repo: string, reference: string): string {
  return `/v2/${repo}/manifests/${reference}`;
}

export function blobPath(repo: string, digest: string): string {
  return `/v2/${repo}/blobs/${digest}`;
}
