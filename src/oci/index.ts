export * from './digest.js';
export * from './image-spec.js';
export * from './runtime-spec.js';
