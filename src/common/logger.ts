import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** The root logger; modules take children with fields (module, container, req). */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for unit tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
