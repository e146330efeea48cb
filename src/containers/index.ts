export { Containers, type ContainersOptions } from './containers.js';
export type { ContainerRecord } from './record.js';
export type * from './ports.js';
export { ContainerService } from './service.js';
