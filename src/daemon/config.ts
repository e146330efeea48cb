import { promises as fsp } from 'node:fs';

import { invalidArgument, isErrno, type LogLevel } from '../common/index.js';

/** The daemon's settings: defaults ← daemon.json ← flags. Frozen once built. */
export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  logLevel: LogLevel;
  configFile: string;
  bridge: string;
  bip?: string;
  /** --ipv6 / daemon.json "ipv6": v6 on the default bridge (needs fixedCidrV6). */
  ipv6?: boolean;
  /** --fixed-cidr-v6 / daemon.json "fixed-cidr-v6": the default bridge's v6 subnet. */
  fixedCidrV6?: string;
  /** daemon.json "default-address-pools": where networks' subnets come from when not given. */
  addressPools?: Array<{ base: string; size: number }>;
  /** Prefix of the firewall chains Wharf owns (WHARF-…); tests use unique ones. */
  chainPrefix: string;
  logDriver: string;
  logOpts: Record<string, string>;
  mtu?: number;
  runc: string;
  conmon: string;
  /** Registries reached over plain http / unverified TLS (`host[:port]` or CIDR). */
  insecureRegistries: string[];
  /** Mirrors of docker.io tried before it for pulls. */
  registryMirrors: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
}

export const DEFAULTS: DaemonConfig = {
  hosts: ['unix:///run/wharf/wharf.sock'],
  dataRoot: '/var/lib/wharf',
  execRoot: '/run/wharf',
  pidfile: '/run/wharf/wharfd.pid',
  logLevel: 'info',
  configFile: '/etc/wharf/daemon.json',
  bridge: 'wharf0',
  chainPrefix: 'WHARF',
  logDriver: 'json-file',
  logOpts: {},
  runc: '/usr/sbin/runc',
  conmon: '/usr/bin/conmon',
  insecureRegistries: [],
  registryMirrors: [],
  maxConcurrentDownloads: 3,
  maxConcurrentUploads: 5,
};

export const USAGE = `Usage:	wharfd [OPTIONS]

A Docker-compatible container engine daemon

Options:
  -H, --host list              Daemon socket to listen on (default unix:///run/wharf/wharf.sock)
      --data-root string       Root directory of persistent state (default "/var/lib/wharf")
      --exec-root string       Root directory for execution state files (default "/run/wharf")
  -p, --pidfile string         Path to use for daemon PID file (default "/run/wharf/wharfd.pid")
  -l, --log-level string       Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
  -D, --debug                  Enable debug mode
      --config-file string     Daemon configuration file (default "/etc/wharf/daemon.json")
  -b, --bridge string          Name of the default bridge device (default "wharf0")
      --bip string             Address and prefix of the default bridge (e.g. 10.10.0.1/24)
      --ipv6                   Enable IPv6 networking on the default bridge
      --fixed-cidr-v6 string   IPv6 subnet for the default bridge (needed with --ipv6)
      --chain-prefix string    Prefix of Wharf's firewall chains (default "WHARF")
      --mtu int                MTU of container interfaces
      --log-driver string      Default driver for container logs (default "json-file")
      --log-opt map            Default log driver options (max-size=20m, max-file=5)
      --insecure-registry list Enable insecure registry communication
      --registry-mirror list   Preferred Docker registry mirror
      --max-concurrent-downloads int  Set the max concurrent downloads (default 3)
      --max-concurrent-uploads int    Set the max concurrent uploads (default 5)
  -v, --version                Print version information and quit
  -h, --help                   Print usage
`;

interface Flags {
  values: Partial<DaemonConfig> & { hostsGiven?: string[] };
  help?: boolean;
  version?: boolean;
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error', 'fatal']);

/** Parse dockerd-style flags: `-H x`, `--host=x`, repeated `-H`. */
export function parseFlags(argv: string[]): Flags {
  const out: Flags = { values: {} };
  const v = out.values;
  const hosts: string[] = [];
  const logOpts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('-') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw invalidArgument(`flag needs an argument: ${arg}`);
      return next;
    };
    switch (arg) {
      case '-H':
      case '--host':
        hosts.push(value());
        break;
      case '--data-root':
      case '-g':
      case '--graph':
        v.dataRoot = value();
        break;
      case '--exec-root':
        v.execRoot = value();
        break;
      case '-p':
      case '--pidfile':
        v.pidfile = value();
        break;
      case '-l':
      case '--log-level':
        v.logLevel = value() as LogLevel;
        break;
      case '-D':
      case '--debug':
        // A boolean flag: only `--debug=false` (inline) turns it off, as pflag.
        if (inline === undefined || !['false', '0', 'f', 'F', 'FALSE', 'False'].includes(inline))
          v.logLevel = 'debug';
        break;
      case '--config-file':
        v.configFile = value();
        break;
      case '-b':
      case '--bridge':
        v.bridge = value();
        break;
      case '--bip':
        v.bip = value();
        break;
      case '--ipv6':
        // A boolean flag, as --debug: only an inline false value turns it off.
        v.ipv6 =
          inline === undefined || !['false', '0', 'f', 'F', 'FALSE', 'False'].includes(inline);
        break;
      case '--fixed-cidr-v6':
        v.fixedCidrV6 = value();
        break;
      case '--chain-prefix':
        v.chainPrefix = value();
        break;
      case '--mtu': {
        const raw = value();
        const mtu = Number(raw);
        if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
          throw invalidArgument(`invalid argument "${raw}" for "--mtu" flag`);
        v.mtu = mtu;
        break;
      }
      case '--log-driver':
        v.logDriver = value();
        break;
      case '--log-opt': {
        const kv = value();
        const j = kv.indexOf('=');
        if (j < 0) throw invalidArgument(`invalid log-opt: ${kv}`);
        logOpts[kv.slice(0, j)] = kv.slice(j + 1);
        break;
      }
      case '--insecure-registry':
        (v.insecureRegistries ??= []).push(value());
        break;
      case '--registry-mirror':
        (v.registryMirrors ??= []).push(validMirror(value()));
        break;
      case '--max-concurrent-downloads':
      case '--max-concurrent-uploads': {
        const raw = value();
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1)
          throw invalidArgument(`invalid argument "${raw}" for "${arg}" flag`);
        if (arg === '--max-concurrent-downloads') v.maxConcurrentDownloads = n;
        else v.maxConcurrentUploads = n;
        break;
      }
      case '-h':
      case '--help':
        out.help = true;
        break;
      case '-v':
      case '--version':
        out.version = true;
        break;
      default:
        throw invalidArgument(`unknown flag: ${arg}`);
    }
  }
  if (hosts.length) v.hostsGiven = hosts;
  if (Object.keys(logOpts).length) v.logOpts = logOpts;
  return out;
}

/** daemon.json keys Wharf acts on (dockerd's names, and its own `wharf-` ones). */
const SUPPORTED_KEYS = new Set([
  'hosts',
  'data-root',
  'exec-root',
  'pidfile',
  'log-level',
  'debug',
  'bridge',
  'bip',
  'default-address-pools',
  'fixed-cidr-v6',
  'ipv6',
  'wharf-chain-prefix',
  'log-driver',
  'log-opts',
  'mtu',
  'insecure-registries',
  'registry-mirrors',
  'max-concurrent-downloads',
  'max-concurrent-uploads',
]);

/** The rest of dockerd's daemon.json keys: accepted, with a warning that Wharf ignores them. */
const DOCKERD_KEYS = new Set([
  'allow-nondistributable-artifacts',
  'api-cors-header',
  'authorization-plugins',
  'bip6',
  'builder',
  'cdi-spec-dirs',
  'cgroup-parent',
  'containerd',
  'containerd-namespace',
  'containerd-plugins-namespace',
  'default-cgroupns-mode',
  'default-gateway',
  'default-gateway-v6',
  'default-ipc-mode',
  'default-network-opts',
  'default-runtime',
  'default-shm-size',
  'default-ulimits',
  'dns',
  'dns-opts',
  'dns-search',
  'exec-opts',
  'experimental',
  'features',
  'fixed-cidr',
  'group',
  'host-gateway-ip',
  'icc',
  'init',
  'init-path',
  'ip',
  'ip-forward',
  'ip-masq',
  'ip6tables',
  'iptables',
  'labels',
  'live-restore',
  'log-format',
  'max-download-attempts',
  'no-new-privileges',
  'node-generic-resources',
  'oom-score-adjust',
  'proxies',
  'raw-logs',
  'runtimes',
  'seccomp-profile',
  'selinux-enabled',
  'shutdown-timeout',
  'storage-driver',
  'storage-opts',
  'swarm-default-advertise-addr',
  'tls',
  'tlscacert',
  'tlscert',
  'tlskey',
  'tlsverify',
  'userland-proxy',
  'userland-proxy-path',
  'userns-remap',
]);

/**
 * As dockerd: a key no daemon.json has is an error naming it (a typo must not pass silently);
 * dockerd's keys that Wharf does not act on are returned, for a warning.
 */
export function checkDaemonJsonKeys(json: Record<string, unknown>): { ignored: string[] } {
  const keys = Object.keys(json);
  const unknown = keys.filter((k) => !SUPPORTED_KEYS.has(k) && !DOCKERD_KEYS.has(k));
  if (unknown.length > 0) {
    throw invalidArgument(
      `the following directives don't match any configuration option: ${unknown.join(', ')}`,
    );
  }
  return { ignored: keys.filter((k) => !SUPPORTED_KEYS.has(k)) };
}

/** daemon.json keys (dockerd's names) that Wharf understands. */
function fromDaemonJson(json: Record<string, unknown>): Partial<DaemonConfig> {
  const out: Partial<DaemonConfig> = {};
  const str = (k: string): string | undefined => {
    const val = json[k];
    if (val === undefined) return undefined;
    if (typeof val !== 'string') throw invalidArgument(`daemon.json: "${k}" must be a string`);
    return val;
  };
  if (Array.isArray(json['hosts'])) out.hosts = json['hosts'] as string[];
  out.dataRoot = str('data-root');
  out.execRoot = str('exec-root');
  out.pidfile = str('pidfile');
  out.logLevel = str('log-level') as LogLevel | undefined;
  if (json['debug'] === true) out.logLevel = 'debug';
  out.bridge = str('bridge');
  out.bip = str('bip');
  const ipv6 = json['ipv6'];
  if (ipv6 !== undefined) {
    if (typeof ipv6 !== 'boolean') throw invalidArgument('daemon.json: "ipv6" must be a boolean');
    out.ipv6 = ipv6;
  }
  out.fixedCidrV6 = str('fixed-cidr-v6');
  const pools = json['default-address-pools'];
  if (pools !== undefined) {
    if (
      !Array.isArray(pools) ||
      pools.some(
        (p) =>
          !p ||
          typeof (p as { base?: unknown }).base !== 'string' ||
          !Number.isInteger((p as { size?: unknown }).size),
      )
    )
      throw invalidArgument('daemon.json: "default-address-pools" must be a list of {base, size}');
    out.addressPools = (pools as Array<{ base: string; size: number }>).map((p) => ({
      base: p.base,
      size: p.size,
    }));
  }
  out.chainPrefix = str('wharf-chain-prefix');
  out.logDriver = str('log-driver');
  if (json['log-opts'] && typeof json['log-opts'] === 'object')
    out.logOpts = json['log-opts'] as Record<string, string>;
  if (typeof json['mtu'] === 'number') out.mtu = json['mtu'];
  const strList = (k: string): string[] | undefined => {
    const val = json[k];
    if (val === undefined) return undefined;
    if (!Array.isArray(val) || val.some((x) => typeof x !== 'string'))
      throw invalidArgument(`daemon.json: "${k}" must be a list of strings`);
    return val as string[];
  };
  const count = (k: string): number | undefined => {
    const val = json[k];
    if (val === undefined) return undefined;
    if (typeof val !== 'number' || !Number.isInteger(val) || val < 1)
      throw invalidArgument(`daemon.json: "${k}" must be a positive integer`);
    return val;
  };
  out.insecureRegistries = strList('insecure-registries');
  out.registryMirrors = strList('registry-mirrors')?.map(validMirror);
  out.maxConcurrentDownloads = count('max-concurrent-downloads');
  out.maxConcurrentUploads = count('max-concurrent-uploads');
  for (const k of Object.keys(out) as (keyof DaemonConfig)[])
    if (out[k] === undefined) delete out[k];
  return out;
}

/** A mirror must be an http(s) URL without path (dockerd's ValidateMirror). */
function validMirror(m: string): string {
  let url: URL;
  try {
    url = new URL(m);
  } catch {
    throw invalidArgument(`invalid mirror: "${m}" is not a valid URI`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidArgument(
      `invalid mirror: unsupported scheme "${url.protocol.slice(0, -1)}" in "${m}"`,
    );
  if (url.pathname !== '/' && url.pathname !== '')
    throw invalidArgument(`invalid mirror: path, query, or fragment at end of the URI "${m}"`);
  return url.origin;
}

export async function buildConfig(
  argv: string[],
): Promise<{ config: DaemonConfig; help?: boolean; version?: boolean; ignoredKeys: string[] }> {
  const flags = parseFlags(argv);
  const configFile = flags.values.configFile ?? DEFAULTS.configFile;
  let file: Partial<DaemonConfig> = {};
  let ignoredKeys: string[] = [];
  try {
    const text = await fsp.readFile(configFile, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw invalidArgument(
        `unable to configure the daemon with file ${configFile}: ${(err as Error).message}`,
      );
    }
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw invalidArgument(`unable to configure the daemon with file ${configFile}`);
    try {
      ignoredKeys = checkDaemonJsonKeys(json as Record<string, unknown>).ignored;
    } catch (err) {
      throw invalidArgument(
        `unable to configure the daemon with file ${configFile}: ${(err as Error).message}`,
      );
    }
    file = fromDaemonJson(json as Record<string, unknown>);
  } catch (err) {
    // The default file may be absent; one named with --config-file must exist (as dockerd).
    if (!isErrno(err, 'ENOENT')) throw err;
    if (flags.values.configFile !== undefined) {
      throw invalidArgument(
        `unable to configure the daemon with file ${configFile}: open ${configFile}: no such file or directory`,
      );
    }
  }
  const { hostsGiven, ...flagValues } = flags.values;
  if (hostsGiven && file.hosts) {
    throw invalidArgument(
      'the following directives are specified both as a flag and in the configuration file: hosts',
    );
  }
  const execRoot = flagValues.execRoot ?? file.execRoot ?? DEFAULTS.execRoot;
  const config: DaemonConfig = {
    ...DEFAULTS,
    pidfile: `${execRoot}/wharfd.pid`,
    ...file,
    ...flagValues,
    configFile,
    hosts: hostsGiven ?? file.hosts ?? DEFAULTS.hosts,
  };
  if (!LEVELS.has(config.logLevel))
    throw invalidArgument(`unable to parse logging level: ${config.logLevel}`);
  for (const h of config.hosts) {
    if (!h.startsWith('unix://')) throw invalidArgument(`only unix:// hosts are supported: ${h}`);
  }
  return {
    config: Object.freeze(config),
    help: flags.help,
    version: flags.version,
    ignoredKeys,
  };
}
