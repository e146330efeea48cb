import { StatusError, type CommandSpec } from '../../command.js';
import { loadRegistryServer } from './load-server.js';

const AUTH_MODES = ['none', 'basic', 'token'];

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description:
    'Run an OCI distribution registry (push/pull target, like registry:2) in the foreground',
  flags: [
    {
      name: 'addr',
      type: 'string',
      default: '127.0.0.1:5000',
      help: 'Address to listen on (host:port)',
    },
    {
      name: 'root',
      type: 'string',
      default: '/var/lib/wharf-registry',
      help: 'Directory holding the registry storage',
    },
    {
      name: 'htpasswd',
      type: 'string',
      help: 'htpasswd file of bcrypt users (htpasswd -B); enables authentication',
    },
    {
      name: 'auth',
      type: 'string',
      help: 'Authentication: none, basic, or token (own token server at /token); default basic with --htpasswd, else none',
    },
    { name: 'realm', type: 'string', default: 'Wharf Registry', help: 'Realm of Basic challenges' },
    {
      name: 'service',
      type: 'string',
      default: 'wharf-registry',
      help: 'Service name in bearer tokens and challenges',
    },
    {
      name: 'token-realm',
      type: 'string',
      help: "Token endpoint URL to advertise (default: this server's /token)",
    },
    { name: 'token-ttl', type: 'int', default: 900, help: 'Lifetime of issued tokens, in seconds' },
    {
      name: 'direct-io',
      type: 'bool',
      default: true,
      help: 'Write uploads and read large blobs with O_DIRECT, past the page cache (--direct-io=false: buffered)',
    },
    { name: 'tls-cert', type: 'string', help: 'TLS certificate file (PEM); serve HTTPS' },
    { name: 'tls-key', type: 'string', help: 'TLS key file (PEM)' },
    {
      name: 'log-level',
      short: 'l',
      type: 'string',
      default: 'info',
      help: 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")',
    },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const htpasswd = f.str('htpasswd');
    const mode = f.str('auth') || (htpasswd ? 'basic' : 'none');
    if (!AUTH_MODES.includes(mode)) {
      throw new StatusError(1, `invalid --auth ${JSON.stringify(mode)}: want none, basic or token`);
    }
    if (mode !== 'none' && !htpasswd) throw new StatusError(1, `--auth ${mode} needs --htpasswd`);
    const cert = f.str('tls-cert');
    const key = f.str('tls-key');
    if (Boolean(cert) !== Boolean(key)) {
      throw new StatusError(1, '--tls-cert and --tls-key go together');
    }
    const level = f.str('log-level');
    if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(level)) {
      throw new StatusError(1, `invalid --log-level ${JSON.stringify(level)}`);
    }
    const mod = await loadRegistryServer();
    const logger = mod.createLogger(level as 'info');
    const server = await mod.startRegistry({
      addr: f.str('addr'),
      root: f.str('root'),
      logger,
      auth: {
        mode: mode as 'none',
        htpasswdFile: htpasswd || undefined,
        realm: f.str('realm'),
        service: f.str('service'),
        tokenRealm: f.str('token-realm') || undefined,
        tokenTtlSeconds: f.int('token-ttl'),
      },
      tls: cert ? { certFile: cert, keyFile: key } : undefined,
      directIo: f.bool('direct-io'),
    });
    // Handlers before the line that says it listens: whoever waits for that line may signal
    // at once, before this process would have run another statement.
    const stopping = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    logger.info({ url: server.url, root: f.str('root'), auth: mode }, 'registry: listening');
    const signal = await stopping;
    logger.info({ signal }, 'registry: shutting down');
    // A second signal means "now": do not wait for in-flight transfers.
    const force = (): never => process.exit(130);
    process.once('SIGINT', force);
    process.once('SIGTERM', force);
    await server.close();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return 0;
  },
};
