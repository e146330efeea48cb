import { promises as fsp } from 'node:fs';

export function hostsFile(
  hostname: string,
  ips?: string | readonly string[],
  extraHosts: string[] = [],
): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const h of extraHosts) {
    const i = h.indexOf(':');
    if (i > 0) lines.push(`${h.slice(i + 1)}\t${h.slice(0, i)}`);
  }
  for (const ip of typeof ips === 'string' ? [ips] : (ips ?? [])) {
    if (ip) lines.push(`${ip}\t${hostname}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * --add-host entries with `host-gateway` replaced by the address the host has on the
 * container's first network, plus `host.docker.internal` there unless the user named it
 * (Docker Desktop's name for the host, which Linux Docker users have to add by hand).
 * Without a gateway (no network) `host-gateway` entries are dropped.
 */
export function withHostGateway(extraHosts: readonly string[], gateway?: string): string[] {
  const out: string[] = [];
  for (const h of extraHosts) {
    const i = h.indexOf(':');
    if (i > 0 && h.slice(i + 1) === 'host-gateway') {
      if (gateway) out.push(`${h.slice(0, i)}:${gateway}`);
    } else out.push(h);
  }
  if (gateway && !out.some((h) => h.startsWith('host.docker.internal:')))
    out.push(`host.docker.internal:${gateway}`);
  return out;
}

/**
 * A container's resolv.conf, from the host's as Docker builds it: loopback nameservers are
 * useless inside another network namespace, so they are dropped, and when none is left the
 * public defaults are used (Docker does the same).
 */
export function resolvConf(
  hostResolv: string,
  opts: { dns?: string[]; search?: string[]; options?: string[]; keepLoopback?: boolean },
): string {
  const servers: string[] = [];
  let search: string[] = [];
  let options: string[] = [];
  for (const raw of hostResolv.split('\n')) {
    const line = raw.trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) {
      if (opts.keepLoopback || !(rest[0].startsWith('127.') || rest[0] === '::1'))
        servers.push(rest[0]);
    } else if (key === 'search' || key === 'domain') search = rest;
    else if (key === 'options') options = rest;
  }
  const ns = opts.dns?.length ? opts.dns : servers.length ? servers : ['8.8.8.8', '8.8.4.4'];
  if (opts.search?.length) search = opts.search;
  if (opts.options?.length) options = opts.options;
  let out = '';
  // `--dns-search .` means no search domains at all (Docker's resolvconf.Build).
  if (search.length && search.join(' ').trim() !== '.') out += `search ${search.join(' ')}\n`;
  for (const s of ns) out += `nameserver ${s}\n`;
  if (options.length) out += `options ${options.join(' ')}\n`;
  return out;
}

let hostResolv: { key: string; text: string } | undefined;

/**
 * The host's /etc/resolv.conf, read at every start as dockerd does, but from memory while a
 * stat says it is the same file unchanged (one syscall on a start's path instead of four).
 */
export async function readHostResolvConf(file = '/etc/resolv.conf'): Promise<string> {
  try {
    const st = await fsp.stat(file, { bigint: true });
    const key = `${file}:${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    if (hostResolv?.key === key) return hostResolv.text;
    const text = await fsp.readFile(file, 'utf8');
    hostResolv = { key, text };
    return text;
  } catch {
    return '';
  }
}
