/** Stable codes of errors the uploader reports (page and worker). */
export type UploadErrorCode =
  | 'QUOTA_EXCEEDED' // the file does not fit in the origin's storage; nothing was stored
  | 'TIMEOUT' // the service worker did not reply in time
  | 'NO_SERVICE_WORKER' // service workers are unavailable (insecure context, private mode, unsupported)
  | 'NOT_FOUND' // no upload with that id
  | 'INVALID_STATE' // the action does not apply to the upload's current state
  | 'INVALID_ARGUMENT' // a malformed request
  | 'NETWORK' // the server could not be reached (transient)
  | 'SERVER' // the server answered 5xx (transient)
  | 'REJECTED' // the server refused the upload for good (4xx)
  | 'STORAGE' // IndexedDB failed
  | 'INTERNAL';

/** Serialisable error, as it crosses postMessage. */
export interface ErrorInfo {
  readonly code: UploadErrorCode;
  readonly message: string;
  /** HTTP status when the server answered. */
  readonly status?: number;
  /** The server's `X-Error-Code`, when it sent one. */
  readonly serverCode?: string;
}

/** The one error class of the uploader, on both sides of postMessage. */
export class UploadError extends Error {
  override readonly name = 'UploadError';
  readonly code: UploadErrorCode;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;

  constructor(code: UploadErrorCode, message: string, options?: { cause?: unknown; status?: number; serverCode?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options?.status;
    this.serverCode = options?.serverCode;
  }

  toInfo(): ErrorInfo {
    return {
      code: this.code,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.serverCode === undefined ? {} : { serverCode: this.serverCode }),
    };
  }

  static fromInfo(info: ErrorInfo): UploadError {
    return new UploadError(info.code, info.message, {
      ...(info.status === undefined ? {} : { status: info.status }),
      ...(info.serverCode === undefined ? {} : { serverCode: info.serverCode }),
    });
  }
}
