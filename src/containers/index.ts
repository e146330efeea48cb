export { Containers, type ContainersOptions } from './containers.js';
export type { ContainerRecord } from './record.js';
export type * from './ports.js';
export { ContainerService } from './service.js';
export type { VolumesPort } from './mounts-port.js';
export { mountPointsView, type MountRecord } from './mounts.js';
export { parseBind, parseMount, parseVolumesFrom, type MountSpec } from './mounts-parse.js';
// For the builder: paths and users resolved inside a mounted filesystem.
export { resolveInRoot } from './confine.js';
export { resolveUserInRootfs } from './user.js';
