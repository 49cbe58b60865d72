// Public entry of `resilient-upload/server`.
export { createUploadHandler, startServer } from './http.js';
export type { UploadHandler, RunningServer, StartServerOptions } from './http.js';
export type { NamespaceLimits, UploadLogger, UploadServerOptions } from './options.js';
export { UploadServerError } from './errors.js';
export type { ServerErrorCode } from './errors.js';
export { FileStore } from './file-store.js';
export type { FileStoreOptions } from './file-store.js';
export type { FileWrites } from './file-writes.js';
export { MemoryStore } from './memory-store.js';
export { S3Storage } from './s3/s3-storage.js';
export type { S3StorageOptions } from './s3/s3-storage.js';
export type { LeaseTimings } from './s3/s3-leases.js';
export { parseS3Url, s3ClientFromEnv } from './s3/s3-config.js';
export { WriterLocks } from './locks.js';
export type { Lease, UploadLocks } from './locks.js';
export { completionMetadata, storageKey } from './storage.js';
export { safeFileName } from './safe-name.js';
export type {
  AppendOptions,
  CompletedUpload,
  NamespaceUsage,
  UploadMetadata,
  UploadRef,
  UploadStatus,
  UploadStorage,
} from './storage.js';
export { createUploadCore } from './handler.js';
export type { UploadCore } from './handler.js';
export type { WallClock, RequestInfo, UploadRequest, UploadResponse } from './types.js';
