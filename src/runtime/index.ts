/**
 * runtime: OCI specs for runc, and the runc and conmon wrappers. Stateless: the container
 * state machine lives in containers/.
 *
 * Lifecycle of a container here: buildSpec → writeSpec(bundle) → Conmon.create (runc create
 * under conmon; pid known) → Runc.start → … → exit code in <exitDir>/<id> → Runc.delete.
 */
export * from './spec/index.js';
export { Runc, runcError, runcErrorMessage, type RuncOptions, type RuncState } from './runc.js';
export {
  Conmon,
  RuntimeStartError,
  classifyStartError,
  conmonCreateArgs,
  conmonExecArgs,
  conmonPaths,
  isOomKilled,
  readExitCode,
  reopenLogs,
  resize,
  type ConmonCreateOptions,
  type ConmonExecOptions,
  type ConmonLogLevel,
  type ConmonOptions,
  type ConmonStarted,
} from './conmon.js';
export { attachStdin, type StdinAttachment } from './attach.js';
