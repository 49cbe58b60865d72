export * from './wire.js';
export * from './file-id.js';
export * from './states.js';
export * from './errors.js';
export * from './messages.js';
