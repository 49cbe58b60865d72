export * from './wire.js';
export * from './file-id.js';
export * from './states.js';
export * from './errors.js';
export * from './messages.js';
export * from './base64.js';
export * from './worker-settings.js';
export * as tus from './tus.js';
export * as ietf from './ietf.js';
