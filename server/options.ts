import type { CorsOrigins } from './cors.js';
import type { UploadLocks } from './locks.js';
import type { CompletedUpload, UploadStorage } from './storage.js';
import type { Clock, RequestInfo } from './types.js';

/** Configuration of the upload handler. Every field is optional. */
export interface UploadServerOptions {
  /** Where the disk store keeps uploads. Default `./uploads`. Ignored when `storage` is given. */
  uploadDir?: string;
  /** Largest upload accepted, in bytes. Default 10 GiB. */
  maxUploadSize?: number;
  /** URL prefix of the API, e.g. `/api/files` → `/api/files/status`. Default `''`. */
  basePath?: string;
  /**
   * Origins allowed cross-origin (preflight answered, protocol headers exposed). Listed origins
   * may send credentials (cookies, HTTP auth); `'*'` allows any origin without credentials.
   * Default none.
   */
  corsOrigins?: CorsOrigins;
  /**
   * Returns the namespace the request's uploads live in (e.g. a user id), so equal file ids of
   * two users never meet. Refuse by throwing `new UploadServerError('UNAUTHORIZED' | 'FORBIDDEN')`;
   * any other throw answers 500. Default: everyone shares the namespace `''`.
   */
  authorize?: (req: RequestInfo) => string | Promise<string>;
  /**
   * Called once per finished file, after it is durably in place. It runs after the final reply
   * has been handed to the connection and without holding the upload's writer lock, so a slow
   * hook never delays the client; errors are logged, not sent. `close()` waits for hooks in flight.
   */
  onComplete?: (info: CompletedUpload) => void | Promise<void>;
  /** A body that sends nothing for this long is ended; what arrived is kept. Default 30 s. */
  idleTimeoutMs?: number;
  /** Partial uploads untouched for this long are removed by the sweep. Default 24 h. */
  staleAfterMs?: number;
  /** How often the sweep runs; 0 disables the timer. Default 1 h. */
  sweepIntervalMs?: number;
  /** Storage backend. Default: the disk store in `uploadDir`. */
  storage?: UploadStorage;
  /**
   * Writer locks (one writer per upload, newest wins). Default: the storage's own when it has
   * some (S3Storage: leases in the bucket, for many instances), else in-process locks.
   */
  locks?: UploadLocks;
  /** Time source of the sweep and of metadata times. */
  clock?: Clock;
}

export const DEFAULTS = {
  uploadDir: './uploads',
  maxUploadSize: 10 * 1024 ** 3,
  basePath: '',
  idleTimeoutMs: 30_000,
  staleAfterMs: 24 * 60 * 60 * 1000,
  sweepIntervalMs: 60 * 60 * 1000,
} as const;
