// The upload state machine. Every state change in the engine goes through `transition`.
import { UploadError, type UploadState } from '../src/protocol/index.js';

export type UploadAction =
  | 'start' // the engine begins (or resumes) sending
  | 'complete' // the server holds the whole file
  | 'transient' // network, timeout or 5xx: try again later by itself
  | 'permanent' // the server refused for good: needs the user
  | 'interrupted' // the worker that ran it died: run again
  | 'pause'
  | 'resume'
  | 'cancel'
  | 'retry';

const TABLE: Readonly<Record<UploadAction, Partial<Record<UploadState, UploadState>>>> = {
  start: { queued: 'uploading', waiting: 'uploading' },
  complete: { uploading: 'done' },
  transient: { uploading: 'waiting' },
  permanent: { uploading: 'failed' },
  interrupted: { uploading: 'queued' },
  pause: { queued: 'paused', uploading: 'paused', waiting: 'paused', paused: 'paused' },
  resume: { paused: 'queued' },
  cancel: { queued: 'cancelled', uploading: 'cancelled', waiting: 'cancelled', paused: 'cancelled', failed: 'cancelled' },
  retry: { failed: 'queued', waiting: 'queued' },
};

/** The state after `action`, or undefined when the action does not apply. */
export function nextState(state: UploadState, action: UploadAction): UploadState | undefined {
  return TABLE[action][state];
}

/** Like `nextState`, but throws `UploadError` `INVALID_STATE` when the action does not apply. */
export function transition(state: UploadState, action: UploadAction): UploadState {
  const next = nextState(state, action);
  if (next === undefined) throw new UploadError('INVALID_STATE', `Cannot ${action} an upload that is ${state}`);
  return next;
}
