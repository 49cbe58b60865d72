// Public entry of `resilient-upload/server`.
export { createUploadHandler, startServer } from './http.js';
export type { UploadHandler, RunningServer, StartServerOptions } from './http.js';
export type { UploadServerOptions } from './options.js';
export { UploadServerError } from './errors.js';
export type { ServerErrorCode } from './errors.js';
export { FileStore } from './file-store.js';
export type { FileStoreOptions } from './file-store.js';
export { MemoryStore } from './memory-store.js';
export { storageKey } from './storage.js';
export type {
  AppendOptions,
  CompletedUpload,
  UploadMetadata,
  UploadRef,
  UploadStatus,
  UploadStorage,
} from './storage.js';
export { createUploadCore } from './handler.js';
export type { UploadCore } from './handler.js';
export type { Clock, RequestInfo, UploadRequest, UploadResponse } from './types.js';
