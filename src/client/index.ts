export * from './engine-client.js';
export * from './errors.js';
export * from './host.js';
export * from './stdcopy.js';
export { buildQuery, readAll, readJsonLines, type Hijacked } from './transport.js';
