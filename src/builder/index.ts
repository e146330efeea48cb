export { Builder, type BuildEvent, type BuildOptions, type StageState } from './executor.js';
export { RecordMemo } from './cache.js';
export type * from './ports.js';
export { RunFailedError } from './steps.js';

export { DockerfileError, readDockerfile } from './dockerfile/index.js';
