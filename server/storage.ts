import { createHash } from 'node:crypto';
import { UploadServerError } from './errors.js';
import type { UploadLocks } from './locks.js';
import { safeFileName } from './safe-name.js';

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
  /** The file name exactly as the client sent it (X-File-Name, tus `filename`, Content-Disposition): untrusted text. */
  readonly name?: string;
  /**
   * `name` made usable as a file name (see safeFileName): no path separators, control or bidi
   * characters, at most 255 bytes. Present whenever `name` is.
   */
  readonly safeName?: string;
  /** The media type the client declared (tus `filetype`, the IETF creation's Content-Type): untrusted text. */
  readonly type?: string;
  /** Every metadata pair the client sent (tus `Upload-Metadata`, values decoded as text): untrusted. */
  readonly fields?: Readonly<Record<string, string>>;
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
  /** What the client said about the file, as stored (see describeFile: readDescription() reads it). */
  readonly name: string | undefined;
}

export interface AppendOptions {
  /** Must equal the bytes held, else OFFSET_MISMATCH. */
  readonly start: number;
  /** Total size to record before the first byte; the caller has checked it against any stored one. */
  readonly size?: number;
  /** What the client said about the file (describeFile()); recorded with the first append, never changed. */
  readonly name?: string;
  /** Most bytes this body may add; more is TOO_LARGE, bytes up to the limit are kept (without a digest). */
  readonly maxBytes: number;
  /** SHA-256 the whole body must have; on mismatch nothing of it is kept. */
  readonly digest?: Uint8Array;
  /**
   * The caller completes the upload (complete()) before it answers, when this body makes it whole
   * (status/slice, tus). A storage may then keep a digest-checked last body undone-able until
   * complete(): a crash in between rolls it back, and the client, never answered, sends it again.
   * Without it the bytes are final once append() returns (the IETF draft's `Upload-Complete: ?0`
   * acknowledges them with the upload still open).
   */
  readonly completing?: boolean;
}

export interface CompletedUpload {
  /** Where the finished file is (a file path for disk storage). */
  readonly path: string;
  readonly metadata: UploadMetadata;
}

/** What the unfinished uploads of one namespace hold, for the per-namespace limits. */
export interface NamespaceUsage {
  /** Unfinished uploads: an upload counts from its first append until it completes or is removed. */
  readonly uploads: number;
  /**
   * Bytes those uploads hold, each counted at least at its declared size (X-File-Size) once known:
   * what an admitted upload still needs to finish is already counted, so it can always finish.
   */
  readonly bytes: number;
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
 * a shared store adds UNAVAILABLE (it did not answer) and BUSY (another instance took over).
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
  /**
   * What the upload holds, durably. Also asked while an append runs (GET /progress takes no lease):
   * it then counts what that append has made durable so far, never more (disk: its checkpoints; S3:
   * its committed parts; memory: every byte of a body without a digest).
   */
  status(ref: UploadRef): Promise<UploadStatus | undefined>;
  append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }>;
  /**
   * Freezes the bytes held as the finished file, with its metadata (built by completionMetadata()).
   * Idempotent: for an upload already complete it returns what is stored, so a completion whose
   * metadata write failed (disk full) can be retried. The upload is recorded as awaiting its
   * onComplete delivery (see unnotified()) durably, no later than it becomes visible as complete.
   * An unfinished upload that holds other than its declared size is not whole: OFFSET_MISMATCH
   * (notWhole()), nothing frozen — e.g. a retried completion after the client re-sent a slice.
   */
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

  // Added for per-namespace limits and onComplete delivery (issue 9). An object store implements
  // them with keys grouped by namespace and a prefix of "awaiting delivery" markers.

  /**
   * What the unfinished uploads of `namespace` hold. The server asks on every POST when limits are
   * set, so keep it cheap (an index kept up to date, or keys grouped by namespace); it must see the
   * effect of every append, complete, remove and sweep that has resolved.
   */
  usage(namespace: string): Promise<NamespaceUsage>;
  /**
   * Completed uploads still awaiting their onComplete delivery: complete() recorded them and
   * markNotified() has not cleared them yet (a crash, a failing hook). Read once at startup.
   */
  unnotified(): AsyncIterable<CompletedUpload>;
  /**
   * Clears an upload's "awaiting delivery" record once onComplete succeeded. Need not be durable at
   * once: losing it only repeats a delivery after a restart (at least once). No-op when absent.
   */
  markNotified(ref: UploadRef): Promise<void>;
  /**
   * Optional, for storage that cannot read a partial upload back (S3 keeps it in multipart parts,
   * which no API returns): the SHA-256 of each whole FILE_DIGEST_PIECE the upload holds, in order,
   * and the bytes after the last whole piece, so the whole-file digest can be checked without
   * read(). Undefined when it cannot tell (read() is used then).
   */
  pieces?(ref: UploadRef): Promise<HeldPieces | undefined>;
}

/** See UploadStorage.pieces. */
export interface HeldPieces {
  readonly hashes: readonly Uint8Array[];
  readonly rest: Uint8Array;
}

/** What a client said about its file besides its bytes; every protocol keeps it alike. */
export interface FileDescription {
  readonly name?: string;
  readonly type?: string;
  readonly fields?: Readonly<Record<string, string>>;
}

/**
 * A description travels through the storage as the upload's `name` (so that every backend keeps
 * it, unchanged, with nothing added to the UploadStorage interface): a plain name stays itself,
 * anything more is this marker and JSON. A plain name that starts with the marker is written as
 * JSON too, so every description reads back exactly.
 */
const DESCRIBED = '\u0000';

/** The storage's `name` for a description (undefined when it says nothing). */
export function describeFile(d: FileDescription): string | undefined {
  const fields = d.fields !== undefined && Object.keys(d.fields).length > 0 ? d.fields : undefined;
  if (d.type === undefined && fields === undefined && (d.name === undefined || !d.name.startsWith(DESCRIBED))) return d.name;
  return DESCRIBED + JSON.stringify({ name: d.name, type: d.type, fields });
}

/** What describeFile() stored; a name stored before descriptions existed reads as that name. */
export function readDescription(stored: string | undefined): FileDescription {
  if (stored === undefined) return {};
  if (!stored.startsWith(DESCRIBED)) return { name: stored };
  try {
    const d = JSON.parse(stored.slice(DESCRIBED.length)) as unknown;
    if (typeof d !== 'object' || d === null) return { name: stored };
    const { name, type, fields } = d as Record<string, unknown>;
    return {
      ...(typeof name === 'string' ? { name } : {}),
      ...(typeof type === 'string' ? { type } : {}),
      ...(isTextRecord(fields) ? { fields } : {}),
    };
  } catch {
    return { name: stored };
  }
}

function isTextRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * The metadata every storage writes at completion; one place, so every backend adds safeName (and
 * reads the stored description) alike. `name` is what the storage kept (see describeFile).
 */
export function completionMetadata(fields: {
  ref: UploadRef;
  size: number;
  name: string | undefined;
  createdAt: string;
  completedAt: string;
}): UploadMetadata {
  const { ref, size, createdAt, completedAt } = fields;
  const { name, type, fields: pairs } = readDescription(fields.name);
  return {
    id: ref.id,
    namespace: ref.namespace,
    size,
    ...(name === undefined ? {} : { name, safeName: safeFileName(name) }),
    ...(type === undefined ? {} : { type }),
    ...(pairs === undefined ? {} : { fields: pairs }),
    createdAt,
    completedAt,
  };
}

/**
 * The storage name of an upload: hex SHA-256 of (namespace, id). Never the id itself, which
 * is untrusted text; JSON keeps the pair unambiguous whatever characters either holds.
 */
export function storageKey(ref: UploadRef): string {
  return createHash('sha256').update(JSON.stringify([ref.namespace, ref.id])).digest('hex');
}

export const STORAGE_KEY_PATTERN = /^[0-9a-f]{64}$/;

/** The refusal of complete() for an upload that holds `held` of its declared `size` bytes. */
export function notWhole(held: number, size: number): UploadServerError {
  return new UploadServerError('OFFSET_MISMATCH', `the upload holds ${held} of its ${size} bytes: it is not whole`, { offset: held });
}
