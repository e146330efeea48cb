export * from './container.js';
export * from './image.js';
export * from './client-views.js';
export * from './filters.js';
export * from './time.js';
export * from './human.js';
export * from './volume.js';
export * from './progress.js';
