import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ApiServer } from '../api/server.js';
import { Router } from '../api/router.js';
import { buildRoutes } from '../api/routes/build.js';
import { containerRoutes, execRoutes } from '../api/routes/containers.js';
import { imageRoutes } from '../api/routes/images.js';
import { systemRoutes } from '../api/routes/system.js';
import { networkRoutes } from '../api/routes/networks.js';
import { unavailableRoutes } from '../api/routes/unavailable.js';
import { volumeRoutes } from '../api/routes/volumes.js';
import { createLogger, errorMessage, WharfError, type Logger } from '../common/index.js';
import { buildConfig, USAGE, type DaemonConfig } from './config.js';
import { wireEngine, type Engine } from './engine.js';
import { lockDataRoot } from './lock.js';
import { WHARF_VERSION } from './version.js';

/** wharfd: parse config, lock the data root, wire the engine, serve the API until SIGTERM. */
export async function main(argv: string[]): Promise<void> {
  let config: DaemonConfig;
  let ignoredKeys: string[];
  try {
    const built = await buildConfig(argv);
    if (built.help) {
      process.stdout.write(USAGE);
      return;
    }
    if (built.version) {
      process.stdout.write(`Wharf version ${WHARF_VERSION}\n`);
      return;
    }
    config = built.config;
    ignoredKeys = built.ignoredKeys;
  } catch (err) {
    process.stderr.write(`wharfd: ${errorMessage(err)}\n`);
    process.exitCode = 1;
    return;
  }
  const log = createLogger(config.logLevel);
  if (ignoredKeys.length > 0) {
    log.warn({ keys: ignoredKeys }, 'daemon.json: Wharf does not act on these dockerd settings');
  }
  // A bug in one request must not take the daemon (and its view of every container) down.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  if (process.getuid?.() !== 0) {
    log.fatal('wharfd needs to be started as root');
    process.exitCode = 1;
    return;
  }
  try {
    await run(config, log);
  } catch (err) {
    const hint = err instanceof WharfError && err.hint ? ` (${err.hint})` : '';
    log.fatal({ err }, `failed to start daemon: ${errorMessage(err)}${hint}`);
    process.stderr.write(`wharfd: failed to start daemon: ${errorMessage(err)}${hint}\n`);
    process.exitCode = 1;
    // Leave nothing half-open (the lock's socket, watchers) keeping the process alive.
    setTimeout(() => process.exit(1), 100).unref();
  }
}

async function run(config: DaemonConfig, log: Logger): Promise<void> {
  // Lock before touching anything else: a refused second daemon must leave no trace.
  const lock = await lockDataRoot(path.resolve(config.dataRoot));
  await fsp.mkdir(config.dataRoot, { recursive: true, mode: 0o711 });
  await fsp.mkdir(config.execRoot, { recursive: true, mode: 0o711 });
  await fsp.mkdir(path.dirname(config.pidfile), { recursive: true });
  await fsp.writeFile(config.pidfile, `${process.pid}`);

  const engine: Engine = await wireEngine(config, log);
  const router = new Router();
  router.add(systemRoutes(engine.system));
  router.add(containerRoutes(engine.containers));
  router.add(execRoutes(engine.containers, engine.exec));
  router.add(imageRoutes(engine.images));
  router.add(volumeRoutes(engine.volumes));
  router.add(networkRoutes(engine.networks));
  router.add(buildRoutes(engine.build));
  router.add(unavailableRoutes());

  const servers: ApiServer[] = [];
  for (const host of config.hosts) {
    const server = new ApiServer({
      router,
      log: log.child({ module: 'api' }),
      headers: {
        Server: `Wharf/${WHARF_VERSION} (linux)`,
        'Docker-Experimental': 'false',
        Ostype: 'linux',
      },
    });
    const socketPath = host.slice('unix://'.length);
    await fsp.mkdir(path.dirname(socketPath), { recursive: true });
    await server.listenUnix(socketPath);
    servers.push(server);
    log.info({ socket: socketPath }, `API listen on ${socketPath}`);
  }
  engine.events.publish('daemon', 'reload', { ID: engine.id, Attributes: { name: os.hostname() } });
  log.info(
    { version: WHARF_VERSION, dataRoot: config.dataRoot },
    'Daemon has completed initialization',
  );

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; containers keep running (live restore)');
    await Promise.all(servers.map((s) => s.close()));
    await engine.close();
    await fsp.rm(config.pidfile, { force: true });
    lock.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
