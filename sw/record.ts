// The stored upload record: everything about an upload except its Blob, which lives in its
// own object store (re-putting a record that held the Blob would write a second copy).
import type { ErrorInfo, UploadState, UploadView } from '../src/protocol/index.js';

/** One upload as the worker stores it. */
export interface UploadRecord {
  readonly id: string;
  readonly fileId: string;
  /** Absolute base URL of the upload API, without a trailing slash. */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly lastModified: number;
  readonly state: UploadState;
  /** Last offset the server confirmed: a hint only, the server's status is the truth. */
  readonly offset: number;
  /** Consecutive failed attempts since the last progress (drives the backoff). */
  readonly attempts: number;
  readonly error?: ErrorInfo;
  readonly bytesPerSecond?: number;
  /** Epoch ms of the next automatic try, for `waiting` uploads. */
  readonly retryAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What the page sees of a record. */
export function toView(record: UploadRecord): UploadView {
  return {
    id: record.id,
    fileId: record.fileId,
    endpoint: record.endpoint,
    name: record.name,
    type: record.type,
    size: record.size,
    state: record.state,
    offset: record.offset,
    attempts: record.attempts,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.bytesPerSecond === undefined ? {} : { bytesPerSecond: record.bytesPerSecond }),
    ...(record.retryAt === undefined ? {} : { retryAt: record.retryAt }),
    ...(Object.keys(record.metadata).length === 0 ? {} : { metadata: record.metadata }),
  };
}

/** Oldest first, then by id so the order is total. */
export function byAge(a: Pick<UploadRecord, 'createdAt' | 'id'>, b: Pick<UploadRecord, 'createdAt' | 'id'>): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
