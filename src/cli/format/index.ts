export * from './formatter.js';
export * from './go-print.js';
export * from './tabwriter.js';
export * from './template.js';
