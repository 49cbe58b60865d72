// The stored upload record: everything about an upload except its file, which lives in its
// own object store (re-putting a record that held the Blob would write a second copy).
import type { UploadProtocol, UploadView } from '../src/protocol/index.js';

/** How the file is kept: one Blob, or ArrayBuffer chunks of `chunkBytes` (the WebKit fallback). */
export type FileStorage = { readonly kind: 'blob' } | { readonly kind: 'chunks'; readonly chunkBytes: number; readonly count: number };

/**
 * One upload as the worker stores it: what the page sees, plus what only the worker needs.
 * `offset` is the last offset the server confirmed: a hint only, the server's status is the
 * truth. `attempts` counts failures since the last progress (it drives the backoff).
 */
export interface UploadRecord extends Omit<UploadView, 'metadata' | 'protocol'> {
  /** Absolute URL: status/slice's base URL without a trailing slash; tus's and the draft's creation URL as given. */
  readonly endpoint: string;
  /** Absent in records written before other protocols existed: status/slice. */
  readonly protocol?: UploadProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModified: number;
  /** Absent in records written before the chunk fallback existed: a Blob. */
  readonly storage?: FileStorage;
  /** What the transport keeps between requests (e.g. a tus upload URL), opaque to the engine. */
  readonly remote?: Readonly<Record<string, string>>;
  /** The whole file's digest (X-File-Digest, base64), once computed. */
  readonly fileDigest?: string;
  /** The server found the whole file damaged once: from then on every chunk carries its own digest. */
  readonly chunkDigests?: boolean;
  /**
   * One early retry granted by the last failure: an `online` or `sync` trigger may use it to
   * retry before `retryAt`; a second trigger waits for the timer (no retry storm).
   */
  readonly earlyRetry?: boolean;
}

/** What the page sees of a record. */
export function toView(record: UploadRecord): UploadView {
  return {
    id: record.id,
    fileId: record.fileId,
    endpoint: record.endpoint,
    protocol: record.protocol ?? 'status-slice',
    name: record.name,
    type: record.type,
    size: record.size,
    state: record.state,
    offset: record.offset,
    attempts: record.attempts,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.sent === undefined ? {} : { sent: record.sent }),
    ...(record.bytesPerSecond === undefined ? {} : { bytesPerSecond: record.bytesPerSecond }),
    ...(record.retryAt === undefined ? {} : { retryAt: record.retryAt }),
    ...(Object.keys(record.metadata).length === 0 ? {} : { metadata: record.metadata }),
  };
}

/** Oldest first, then by id so the order is total. */
export function byAge(a: Pick<UploadRecord, 'createdAt' | 'id'>, b: Pick<UploadRecord, 'createdAt' | 'id'>): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
