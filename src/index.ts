export { createUploader, type Uploader, type UploaderOptions } from './uploader.js';
export type { UploaderEventMap, UploaderEventName, Listener } from './events.js';
export type { StorageStatus } from './persistence.js';
export { UploadError, RECOVERY, type UploadErrorCode, type ErrorInfo, type ErrorCause, type Recovery } from './protocol/errors.js';
export { UPLOAD_STATES, type UploadState } from './protocol/states.js';
export { classicFileId } from './protocol/file-id.js';
export type { UploadView, AddOptions } from './protocol/messages.js';
