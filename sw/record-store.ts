// Where the worker keeps upload records and their files. Only the RecordBook talks to it.
import { UploadError } from '../src/protocol/index.js';
import type { UploadRecord } from './record.js';
import type { StoredFile } from './stored-file.js';

/** Persistent storage of upload records and their files. */
export interface RecordStore {
  list(): Promise<UploadRecord[]>;
  /** Writes a record (insert or replace). Never touches the file. */
  put(record: UploadRecord): Promise<void>;
  /**
   * Stores a new record and its file, all or nothing: on any failure (e.g. quota) nothing is
   * left behind. Resolves to the record as stored (it says how the file was kept). Rejects with
   * `UploadError` `QUOTA_EXCEEDED` or `STORAGE`.
   */
  add(record: UploadRecord, file: Blob): Promise<UploadRecord>;
  /** The stored file, or undefined when it is gone. */
  file(record: UploadRecord): Promise<StoredFile | undefined>;
  dropFile(id: string): Promise<void>;
  /**
   * Writes the finished upload's record and drops its file in one transaction: either both
   * happen or neither, so a stored record never lacks its file while still unfinished.
   */
  finish(record: UploadRecord): Promise<void>;
  /** Deletes the record and its file. */
  delete(id: string): Promise<void>;
  /** Removes files whose record is gone (an add cut short by a crash); returns how many. */
  repair(): Promise<number>;
  /** Releases the connection; the next call reopens it. */
  close(): void;
}

/** Maps a storage failure to the uploader's error: a full disk or quota is `QUOTA_EXCEEDED`. */
export function storageError(cause: unknown, action: string): UploadError {
  if (cause instanceof UploadError) return cause;
  if (isQuotaError(cause)) return new UploadError('QUOTA_EXCEEDED', `Not enough storage to ${action}`, { cause });
  const detail = cause instanceof Error ? `: ${cause.name}: ${cause.message}` : '';
  return new UploadError('STORAGE', `IndexedDB failed to ${action}${detail}`, { cause });
}

export function isQuotaError(cause: unknown): boolean {
  return (cause as { name?: unknown } | null)?.name === 'QuotaExceededError';
}
