export { encodeFrame, formatTimestamp } from './frame.js';
export { formatLogLine, LineSplitter, parseLogBuffer, parseLogLine } from './parse.js';
export type { LogRecord, LogStream } from './parse.js';
export { readLogs } from './reader.js';
export type { LogEntry, ReadLogsOptions } from './reader.js';
export {
  DEFAULT_MAX_FILE,
  DEFAULT_MAX_SIZE,
  LogRotator,
  parseHumanSize,
  parseLogOpts,
} from './rotate.js';
export type { LogConfig, LogDriver, LogRotatorOptions } from './rotate.js';
