export {
  CONTAINER_INIT_PATH,
  buildSpec,
  serializeSpec,
  writeSpec,
  writeSpecSync,
  type SpecInput,
} from './build-spec.js';
export {
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  capabilitiesFromMask,
  hostBoundingSet,
  normalizeCapabilities,
  tweakCapabilities,
} from './capabilities.js';
export {
  defaultDeviceRules,
  deviceFromPath,
  devNumbers,
  hostDevices,
  parseDeviceCgroupRule,
} from './devices.js';
export {
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE,
  parseSize,
  parseTmpfsOptions,
  type TmpfsOptions,
} from './mounts.js';
export { DEFAULT_NOFILE, defaultNofile, resourcesFromHostConfig, rlimits } from './resources.js';
export { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
export {
  kernelMissingArches,
  missingArchesFromConfig,
  parseSeccompProfile,
  parseSecurityOpt,
  seccompFromProfile,
  type DockerSeccompProfile,
  type SecurityOptions,
} from './seccomp.js';
