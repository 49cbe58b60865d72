/** Every state an upload can be in. */
export const UPLOAD_STATES = ['queued', 'uploading', 'paused', 'waiting', 'done', 'failed', 'cancelled'] as const;
export type UploadState = (typeof UPLOAD_STATES)[number];

/** States the engine will still act on without a user decision. */
export const ACTIVE_STATES: readonly UploadState[] = ['queued', 'uploading', 'waiting'];
