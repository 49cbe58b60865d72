/** Stable codes of errors the uploader reports (page and worker). */
export type UploadErrorCode =
  // Calls from the page
  | 'NO_SERVICE_WORKER' // service workers are unavailable (insecure context, private mode, unsupported, Node)
  | 'NOT_INSTALLED' // the page's service worker does not run installUploader (the message says how to add it)
  | 'TIMEOUT' // the service worker did not reply in time; on an upload: the server did not answer in time
  | 'NOT_FOUND' // no upload with that id
  | 'INVALID_STATE' // the action does not apply to the upload's current state
  | 'INVALID_ARGUMENT' // a malformed request
  | 'QUOTA_EXCEEDED' // the file does not fit in the origin's storage; nothing was stored
  | 'UNSUPPORTED' // the browser lacks a platform feature this needs (the message names it)
  // Uploads
  | 'NETWORK' // the server could not be reached
  | 'CORS' // the server answered, but its CORS headers do not let this origin read the answer
  | 'SERVER' // the server answered 5xx
  | 'THROTTLED' // the server asked to slow down (429)
  | 'CORRUPTED' // the server received a body that did not match its digest: sent again
  | 'UNAUTHORIZED' // the server wants credentials (401): waits for new headers
  | 'FORBIDDEN' // the server refused these credentials (403): waits for new headers
  | 'REJECTED' // the server refused the upload for good (another 4xx)
  | 'STORAGE' // IndexedDB or the stored file failed
  | 'INTERNAL'; // an unexpected exception

/**
 * What the uploader does after an upload failed with a code. This table is the one place that
 * decides whether an upload is retried; the README's code table says the same.
 * - `retry`: by itself, with backoff, as long as it takes (network and server trouble).
 * - `retry-limited`: nobody's decision (a platform exception, a read error): a few tries, then failed.
 * - `needs-credentials`: waiting, no timer, until new headers arrive or the user acts.
 * - `final`: failed; only the user's retry starts it again.
 */
export type Recovery = 'retry' | 'retry-limited' | 'needs-credentials' | 'final';

export const RECOVERY: Readonly<Record<UploadErrorCode, Recovery>> = {
  NETWORK: 'retry',
  TIMEOUT: 'retry',
  SERVER: 'retry',
  THROTTLED: 'retry',
  CORRUPTED: 'retry-limited',
  // A proxy's error page without CORS headers passes; a server set up without this origin does not.
  CORS: 'retry-limited',
  STORAGE: 'retry-limited',
  INTERNAL: 'retry-limited',
  UNAUTHORIZED: 'needs-credentials',
  FORBIDDEN: 'needs-credentials',
  REJECTED: 'final',
  UNSUPPORTED: 'final',
  QUOTA_EXCEEDED: 'final',
  NO_SERVICE_WORKER: 'final',
  NOT_INSTALLED: 'final',
  NOT_FOUND: 'final',
  INVALID_STATE: 'final',
  INVALID_ARGUMENT: 'final',
};

/** The original exception behind an error, as it crosses postMessage (name and message only). */
export interface ErrorCause {
  readonly name: string;
  readonly message: string;
}

/** Serialisable error, as it crosses postMessage. */
export interface ErrorInfo {
  readonly code: UploadErrorCode;
  readonly message: string;
  /** HTTP status when the server answered. */
  readonly status?: number;
  /** The server's error code (`X-Error-Code`), when it sent one. */
  readonly serverCode?: string;
  /** The platform's own exception, e.g. `TypeError: Failed to fetch`. */
  readonly cause?: ErrorCause;
}

export interface UploadErrorOptions {
  readonly cause?: unknown;
  readonly status?: number;
  readonly serverCode?: string;
}

/** The one error class of the uploader, on both sides of postMessage. */
export class UploadError extends Error {
  override readonly name = 'UploadError';
  readonly code: UploadErrorCode;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;

  constructor(code: UploadErrorCode, message: string, options?: UploadErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options?.status;
    this.serverCode = options?.serverCode;
  }

  get recovery(): Recovery {
    return RECOVERY[this.code];
  }

  toInfo(): ErrorInfo {
    const cause = rootCause(this.cause);
    return {
      code: this.code,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.serverCode === undefined ? {} : { serverCode: this.serverCode }),
      ...(cause === undefined ? {} : { cause }),
    };
  }

  static fromInfo(info: ErrorInfo): UploadError {
    const cause = info.cause === undefined ? undefined : Object.assign(new Error(info.cause.message), { name: info.cause.name });
    return new UploadError(info.code, info.message, {
      ...(info.status === undefined ? {} : { status: info.status }),
      ...(info.serverCode === undefined ? {} : { serverCode: info.serverCode }),
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/** Any thrown value as an UploadError: an unexpected one becomes INTERNAL, keeping it as the cause. */
export function toUploadError(error: unknown, context = 'Unexpected error'): UploadError {
  if (error instanceof UploadError) return error;
  const cause = rootCause(error);
  return new UploadError('INTERNAL', cause === undefined ? context : `${context}: ${cause.name}: ${cause.message}`, { cause: error });
}

/** The innermost exception that is not an UploadError, by name and message. */
export function rootCause(error: unknown): ErrorCause | undefined {
  let current = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (current instanceof UploadError) {
      current = current.cause;
      continue;
    }
    const inner = (current as { cause?: unknown }).cause;
    // fetch's TypeError often wraps the real reason (ECONNREFUSED in Node).
    if (inner instanceof Error && !(inner instanceof UploadError)) {
      current = inner;
      continue;
    }
    if (current instanceof Error || (typeof current === 'object' && 'message' in current)) {
      const { name, message } = current as { name?: unknown; message?: unknown };
      return { name: typeof name === 'string' ? name : 'Error', message: String(message) };
    }
    return { name: typeof current, message: String(current) };
  }
  return undefined;
}
