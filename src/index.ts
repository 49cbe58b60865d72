export { createUploader, type Uploader, type UploaderOptions } from './uploader.js';
export type { UploaderEventMap, UploaderEventName, Listener } from './events.js';
export type { StorageStatus } from './storage.js';
export { UploadError, type UploadErrorCode, type ErrorInfo } from './protocol/errors.js';
export { UPLOAD_STATES, type UploadState } from './protocol/states.js';
export { classicFileId } from './protocol/file-id.js';
export type { UploadView, AddOptions } from './protocol/messages.js';
