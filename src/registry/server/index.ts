/** The registry server (`wharf registry serve`) and its garbage collector (`wharf registry gc`). */
export {
  startRegistry,
  splitAddr,
  type RegistryServer,
  type RegistryServerOptions,
} from './server.js';
export { collectGarbage, type GcOptions, type GcResult } from './gc.js';
export type { AuthMode, AuthOptions } from './auth.js';
// The CLI loads this module at run time and logs through it (its bundle carries no logger).
export { createLogger } from '../../common/index.js';
