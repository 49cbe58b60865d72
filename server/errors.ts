import type { ServerErrorCode } from '../src/protocol/wire.js';

export type { ServerErrorCode };

/** HTTP status and default reason of every server error code. */
const TABLE: Record<ServerErrorCode, readonly [status: number, message: string]> = {
  BAD_FILE_ID: [400, 'X-File-Id is missing, empty or longer than 1024 bytes'],
  BAD_START_BYTE: [400, 'X-Start-Byte must be a plain non-negative decimal integer'],
  BAD_FILE_SIZE: [400, 'X-File-Size must be a plain non-negative decimal integer'],
  BAD_DIGEST: [400, 'Content-Digest must carry a sha-256 member (RFC 9530)'],
  DIGEST_MISMATCH: [400, 'the body does not match its Content-Digest; nothing was appended'],
  FILE_DIGEST_MISMATCH: [422, 'the bytes received do not match the X-File-Digest of the file; the partial upload was removed, send the file again'],
  OFFSET_MISMATCH: [409, 'X-Start-Byte differs from the bytes held'],
  SIZE_MISMATCH: [409, 'X-File-Size differs from the size already set'],
  TOO_LARGE: [413, 'the body would take the upload past its size limit'],
  DISK_FULL: [507, 'the server is out of storage space'],
  UNAUTHORIZED: [401, 'authentication required'],
  FORBIDDEN: [403, 'not allowed'],
  NOT_FOUND: [404, 'not found'],
  METHOD_NOT_ALLOWED: [405, 'method not allowed'],
  // tus and the IETF draft: a protocol version this server does not speak; a body of another type.
  UNSUPPORTED_VERSION: [412, 'this server does not speak the protocol version the request asks for'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'the request body has the wrong Content-Type'],
  ALREADY_COMPLETE: [409, 'the upload is already complete'],
  // A newer request for the same upload took over this one.
  BUSY: [409, 'a newer request for this upload took over'],
  TIMEOUT: [408, 'the request body was idle for too long'],
  // Per-namespace limits: transient, finishing or cancelling an upload makes room.
  TOO_MANY_UPLOADS: [429, 'too many unfinished uploads'],
  TOO_MANY_BYTES: [507, 'unfinished uploads hold too many bytes'],
  // Node's HTTP parser refused the request before any handler saw it.
  BAD_REQUEST: [400, 'malformed HTTP request'],
  HEADERS_TOO_LARGE: [431, 'the request headers are too large'],
  // Shutting down, or an older request has not let go of the upload in time: try again shortly.
  UNAVAILABLE: [503, 'the server cannot take this request now; try again shortly'],
  INTERNAL: [500, 'internal error'],
};

export function statusOf(code: ServerErrorCode): number {
  return TABLE[code][0];
}

/**
 * The one error class of the server layer. `offset` is set when the error happened on an
 * upload whose held size is known, so the response can carry it and the client re-syncs.
 */
export class UploadServerError extends Error {
  override readonly name = 'UploadServerError';
  readonly code: ServerErrorCode;
  readonly status: number;
  readonly offset: number | undefined;
  readonly complete: boolean;

  constructor(
    code: ServerErrorCode,
    message?: string,
    options?: { cause?: unknown; offset?: number; complete?: boolean },
  ) {
    super(message ?? TABLE[code][1], options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = statusOf(code);
    this.offset = options?.offset;
    this.complete = options?.complete ?? false;
  }

  /** The same error, now knowing the offset held. */
  withOffset(offset: number, complete = false): UploadServerError {
    return new UploadServerError(this.code, this.message, { cause: this.cause, offset, complete });
  }
}

export function isUploadServerError(err: unknown): err is UploadServerError {
  return err instanceof UploadServerError;
}

/** Maps file-system errors that mean "no space" to DISK_FULL; anything else becomes INTERNAL. */
export function toServerError(err: unknown, offset?: number): UploadServerError {
  if (err instanceof UploadServerError) return offset === undefined ? err : err.withOffset(offset, err.complete);
  const errno = (err as { code?: unknown } | null)?.code;
  const code: ServerErrorCode = errno === 'ENOSPC' || errno === 'EDQUOT' ? 'DISK_FULL' : 'INTERNAL';
  return new UploadServerError(code, undefined, { cause: err, ...(offset === undefined ? {} : { offset }) });
}
