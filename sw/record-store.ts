// Where uploads and their Blobs are kept. The engine only sees this interface.
import type { UploadRecord } from './record.js';
import { UploadError } from '../src/protocol/index.js';

/** Persistent storage of upload records and their file Blobs. */
export interface UploadStore {
  get(id: string): Promise<UploadRecord | undefined>;
  list(): Promise<UploadRecord[]>;
  /** Records with this file id and endpoint (any state). */
  findByFile(fileId: string, endpoint: string): Promise<UploadRecord[]>;
  /** Writes a record (insert or replace). Never touches the Blob. */
  put(record: UploadRecord): Promise<void>;
  /**
   * Stores a new record and its Blob in one transaction: on any failure (e.g. quota) nothing
   * is left behind. Rejects with `UploadError` `QUOTA_EXCEEDED` or `STORAGE`.
   */
  add(record: UploadRecord, blob: Blob): Promise<void>;
  getBlob(id: string): Promise<Blob | undefined>;
  deleteBlob(id: string): Promise<void>;
  /**
   * Writes the finished upload's record and deletes its Blob in one transaction: either both
   * happen or neither, so a stored record never lacks its Blob while still unfinished.
   */
  finish(record: UploadRecord): Promise<void>;
  /** Deletes the record and its Blob. */
  delete(id: string): Promise<void>;
  /** Releases the connection; the next call reopens it. */
  close(): void;
}

/** Maps a storage failure to the uploader's error: a full disk or quota is `QUOTA_EXCEEDED`. */
export function storageError(cause: unknown, action: string): UploadError {
  if (cause instanceof UploadError) return cause;
  const name = (cause as { name?: unknown } | null)?.name;
  if (name === 'QuotaExceededError') {
    return new UploadError('QUOTA_EXCEEDED', `Not enough storage to ${action}`, { cause });
  }
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new UploadError('STORAGE', `IndexedDB failed to ${action}${detail}`, { cause });
}
