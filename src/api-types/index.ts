export * from './container.js';
export * from './image.js';
