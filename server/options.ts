import type { CorsOrigins } from './cors.js';
import type { UploadLocks } from './locks.js';
import type { CompletedUpload, UploadStorage } from './storage.js';
import type { WallClock, RequestInfo } from './types.js';

/** Where the server reports what no client is told: hook failures, sweep errors, shutdown. */
export interface UploadLogger {
  error(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
}

/** Per-namespace limits on unfinished uploads (a namespace is what authorize() returns). */
export interface NamespaceLimits {
  /** Unfinished uploads one namespace may hold; a new one past it gets 429 TOO_MANY_UPLOADS. */
  readonly maxPartialUploads?: number;
  /**
   * Bytes one namespace's unfinished uploads may hold; bytes past it get 507 TOO_MANY_BYTES, an
   * upload that could never fit (its X-File-Size alone is larger) 413 TOO_LARGE.
   */
  readonly maxPartialBytes?: number;
}

/** Bounds on one append's body, in bytes (whole numbers ≥ 1, `min` ≤ `max`). */
export interface AppendSizeLimits {
  readonly min?: number;
  readonly max?: number;
}

/** The bounds, checked: a RangeError names the first that is not a whole number ≥ 1, or a `min` above the `max`. */
export function checkAppendSize(limits: AppendSizeLimits | undefined): AppendSizeLimits {
  if (limits === undefined) return {};
  for (const key of ['min', 'max'] as const) {
    const n = limits[key];
    if (n !== undefined && !(Number.isSafeInteger(n) && n >= 1)) throw new RangeError(`ietfAppendSize.${key} must be a whole number of bytes ≥ 1, got ${String(n)}`);
  }
  if (limits.min !== undefined && limits.max !== undefined && limits.min > limits.max) {
    throw new RangeError(`ietfAppendSize.min (${limits.min}) is above ietfAppendSize.max (${limits.max}): no append short of the end could be taken`);
  }
  return { ...(limits.min === undefined ? {} : { min: limits.min }), ...(limits.max === undefined ? {} : { max: limits.max }) };
}

/** Configuration of the upload handler. Every field is optional. */
export interface UploadServerOptions {
  /** Where the disk store keeps uploads. Default `./uploads`. Ignored when `storage` is given. */
  uploadDir?: string;
  /** Largest upload accepted, in bytes. Default 10 GiB. */
  maxUploadSize?: number;
  /**
   * Bounds on one append's body under the IETF draft, announced in `Upload-Limit` as
   * `min-append-size`/`max-append-size`: an append over `max` bytes gets 413, one under `min` that
   * does not complete the upload 400 (each append costs the disk an fsync: crumbs cost more than
   * bytes). Checked against Content-Length; a body without one is cut at `max`, what arrived kept.
   * tus and status/slice cannot tell a client such limits, so they do not apply there. Default none.
   */
  ietfAppendSize?: AppendSizeLimits;
  /** URL prefix of the API, e.g. `/api/files` → `/api/files/status`. Default `''`. */
  basePath?: string;
  /**
   * Origins allowed cross-origin (preflight answered, protocol headers exposed). Listed origins
   * may send credentials (cookies, HTTP auth); `'*'` allows any origin without credentials.
   * Default none.
   */
  corsOrigins?: CorsOrigins;
  /**
   * Request headers a cross-origin page may send besides the protocol's own and `Authorization`
   * (always allowed), e.g. `['X-Request-Id']`. Default none.
   */
  corsAllowedHeaders?: readonly string[];
  /**
   * Returns the namespace the request's uploads live in (e.g. a user id), so equal file ids of
   * two users never meet. Refuse by throwing `new UploadServerError('UNAUTHORIZED' | 'FORBIDDEN')`;
   * any other throw answers 500. Default: everyone shares the namespace `''`.
   */
  authorize?: (req: RequestInfo) => string | Promise<string>;
  /**
   * Called once per completed upload, after it is durably in place, after the final reply and
   * outside the upload's writer lock (a slow hook never delays a client). A hook that throws is
   * logged with the upload's id and retried (1 s, doubling, at most 10 min apart) until it succeeds.
   * Guarantee: exactly once while the process runs; at least once across crashes (a crash between
   * the hook's success and its record repeats the call at the next start), so make it idempotent.
   */
  onComplete?: (info: CompletedUpload) => void | Promise<void>;
  /** A body that sends nothing for this long is ended (408 TIMEOUT); what arrived is kept. Default 30 s. */
  idleTimeoutMs?: number;
  /**
   * Slowest average body rate tolerated, in bytes/s, over `rateWindowMs` of waiting on the client
   * (time the server itself is busy does not count); slower bodies get 408 TIMEOUT, what arrived is
   * kept. 0 turns it off. Default 1024.
   */
  minBytesPerSecond?: number;
  /** The window of `minBytesPerSecond`. Default 60 s. */
  rateWindowMs?: number;
  /**
   * How long a takeover (a newer status, POST or DELETE for an upload) waits for the older request
   * to let go before answering 503 UNAVAILABLE. Default 10 s.
   */
  takeoverTimeoutMs?: number;
  /** How long close() lets requests in flight and onComplete hooks finish before cutting them. Default 5 s. */
  closeTimeoutMs?: number;
  /** Limits per namespace on unfinished uploads. Default none. */
  namespaceLimits?: NamespaceLimits;
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
  /** Time source of the sweep, of metadata times and of the minimum body rate. Default: the system's. */
  clock?: WallClock;
  /** Default `console`. */
  logger?: UploadLogger;
}

export const DEFAULTS = {
  uploadDir: './uploads',
  maxUploadSize: 10 * 1024 ** 3,
  basePath: '',
  idleTimeoutMs: 30_000,
  minBytesPerSecond: 1024,
  rateWindowMs: 60_000,
  takeoverTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
  staleAfterMs: 24 * 60 * 60 * 1000,
  sweepIntervalMs: 60 * 60 * 1000,
} as const;
