export * from './errors.js';
export * from './exec.js';
export * from './fs.js';
export * from './kmutex.js';
export * from './logger.js';
export * from './dockerignore.js';
export * from './confine.js';
export * from './deferred-flush.js';
