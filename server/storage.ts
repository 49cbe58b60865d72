import { createHash } from 'node:crypto';
import type { UploadLocks } from './locks.js';

/** Which upload: the namespace comes from authorize(), the id from the untrusted X-File-Id. */
export interface UploadRef {
  readonly namespace: string;
  readonly id: string;
}

/** What the server knows about a finished file, stored beside it as JSON. */
export interface UploadMetadata {
  readonly id: string;
  readonly namespace: string;
  readonly size: number;
  /** Decoded X-File-Name, when the client sent one. */
  readonly name?: string;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly completedAt: string;
}

export interface UploadStatus {
  /** Bytes held and acknowledged durable. */
  readonly offset: number;
  /** X-File-Size, once a client has sent it. */
  readonly size: number | undefined;
  readonly complete: boolean;
  readonly name: string | undefined;
}

export interface AppendOptions {
  /** Must equal the bytes held, else OFFSET_MISMATCH. */
  readonly start: number;
  /** Total size to record before the first byte; the caller has checked it against any stored one. */
  readonly size?: number;
  readonly name?: string;
  /** Most bytes this body may add; more is TOO_LARGE, bytes up to the limit are kept (without a digest). */
  readonly maxBytes: number;
  /** SHA-256 the whole body must have; on mismatch nothing of it is kept. */
  readonly digest?: Uint8Array;
}

export interface CompletedUpload {
  /** Where the finished file is (a file path for disk storage). */
  readonly path: string;
  readonly metadata: UploadMetadata;
}

/**
 * Lets the sweep remove one upload: undefined while a writer holds it (the sweep skips it), else
 * a claim that keeps writers waiting until released. The protocol backs it with its WriterLocks.
 */
export type SweepClaim = (key: string) => { release(): void } | undefined;

/**
 * Where uploads live. The caller guarantees one append/complete/remove at a time per upload
 * (protocol-level writer lock); status() may run at any time and must never report bytes
 * that are not yet durable.
 *
 * append() consumes the body and resolves only when it arrived completely and is durable.
 * Otherwise it throws an UploadServerError whose `offset` is the bytes now held: the body's
 * own error is kept as code when it is an UploadServerError (TIMEOUT, BUSY), else INTERNAL;
 * DIGEST_MISMATCH, TOO_LARGE, DISK_FULL, OFFSET_MISMATCH, ALREADY_COMPLETE come from the store;
 * a shared store adds STORAGE_UNAVAILABLE (it did not answer) and BUSY (another instance took over).
 */
export interface UploadStorage {
  /**
   * Writer locks that hold across every process sharing this storage; absent for storage that one
   * process owns (the protocol then uses in-process locks).
   */
  readonly locks?: UploadLocks;
  /**
   * Prepares the storage (directories, repair of what a crash left half done). The server calls
   * it before serving and refuses to start when it rejects; a rejected init may be retried.
   */
  init(): Promise<void>;
  status(ref: UploadRef): Promise<UploadStatus | undefined>;
  append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }>;
  /** Freezes the bytes held as the finished file. */
  complete(ref: UploadRef): Promise<CompletedUpload>;
  /** Removes a partial upload; false when there was none; ALREADY_COMPLETE for a finished one. */
  remove(ref: UploadRef): Promise<boolean>;
  /** The bytes held (partial or complete), or undefined for an unknown upload. */
  read(ref: UploadRef): Promise<AsyncIterable<Uint8Array> | undefined>;
  /**
   * Removes partial uploads not written to since `before` (ms since epoch); returns how many.
   * Each upload (by its storageKey) is removed only under `claim`, and skipped when it is refused.
   */
  sweep(before: number, claim: SweepClaim): Promise<number>;
}

/**
 * The storage name of an upload: hex SHA-256 of (namespace, id). Never the id itself, which
 * is untrusted text; JSON keeps the pair unambiguous whatever characters either holds.
 */
export function storageKey(ref: UploadRef): string {
  return createHash('sha256').update(JSON.stringify([ref.namespace, ref.id])).digest('hex');
}

export const STORAGE_KEY_PATTERN = /^[0-9a-f]{64}$/;
