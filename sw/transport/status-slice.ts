// The status/slice wire protocol over an injected fetch. Never throws for HTTP or network
// trouble: every call resolves to an outcome the runner can switch on.
import {
  H_CONTENT_DIGEST,
  H_ERROR_CODE,
  H_FILE_ID,
  H_FILE_NAME,
  H_FILE_SIZE,
  H_START_BYTE,
  H_UPLOAD_COMPLETE,
  H_UPLOAD_OFFSET,
  UploadError,
  encodeHeaderText,
  parseByteCount,
  parseComplete,
} from '../src/protocol/index.js';

/** Server codes that come from a damaged transfer rather than a refusal: sending again can work. */
const RETRYABLE_SERVER_CODES: ReadonlySet<string> = new Set(['DIGEST_MISMATCH', 'TIMEOUT']);
const PERMANENT_CONFLICTS: ReadonlySet<string> = new Set(['SIZE_MISMATCH']);
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429]);

export interface TimeoutPolicy {
  /** Time allowed for any request, in ms. */
  readonly baseMs: number;
  /** Slowest upload rate still tolerated, in bytes/s: the body's share of the timeout. */
  readonly minBytesPerSecond: number;
}

/** 30 s plus 1 s per 64 KiB of body. */
export const DEFAULT_TIMEOUT_POLICY: TimeoutPolicy = { baseMs: 30_000, minBytesPerSecond: 64 * 1024 };

/** Once the rate is measured, a body may take this many times as long as that rate says. */
export const MEASURED_RATE_SLACK = 4;

/**
 * How long a request may take: `baseMs` plus its body at the slowest tolerated rate, or, once
 * this upload's rate was measured, at a quarter of that rate (never slower than the minimum).
 * Without the measurement a 64 MiB chunk would get ~17.5 min before a hung server is noticed;
 * at a measured 50 MB/s it gets 35 s.
 */
export function requestTimeoutMs(bodyBytes: number, policy: TimeoutPolicy = DEFAULT_TIMEOUT_POLICY, measuredBytesPerSecond?: number): number {
  const measured = measuredBytesPerSecond !== undefined && measuredBytesPerSecond > 0 ? measuredBytesPerSecond / MEASURED_RATE_SLACK : 0;
  const rate = Math.max(policy.minBytesPerSecond, measured);
  return Math.round(policy.baseMs + (bodyBytes * 1000) / rate);
}

/** Where and how to talk about one file. */
export interface TransportTarget {
  readonly fetch: typeof fetch;
  readonly endpoint: string;
  readonly fileId: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Aborted by the engine on pause or cancel. */
  readonly signal: AbortSignal;
  readonly timeouts?: TimeoutPolicy;
}

export type TransportOutcome =
  | { readonly kind: 'ok'; readonly offset: number; readonly complete: boolean }
  /** 409: the server holds `offset` bytes (undefined when it did not say): re-sync, not a failure. */
  | { readonly kind: 'conflict'; readonly offset: number | undefined; readonly complete: boolean }
  | { readonly kind: 'transient'; readonly error: UploadError; readonly retryAfterMs?: number }
  | { readonly kind: 'permanent'; readonly error: UploadError }
  /** The engine aborted the request (pause, cancel). */
  | { readonly kind: 'aborted' };

/** `GET <endpoint>/status`: how many bytes the server holds. */
export function getStatus(target: TransportTarget): Promise<TransportOutcome> {
  return send(target, 'GET', '/status', {}, undefined);
}

export interface Chunk {
  readonly start: number;
  readonly fileSize: number;
  /**
   * A slice of the stored Blob. Chromium streams a Blob body from disk at full speed, while an
   * ArrayBuffer body of the same bytes went ~10× slower (64 MiB: 0.3 s vs 2.9 s, measured here).
   */
  readonly body: Blob;
  /** `Content-Digest` of `body`, when digests are on. */
  readonly digest?: string;
  readonly fileName?: string;
  /** This upload's measured rate, when known: it tightens the timeout (`requestTimeoutMs`). */
  readonly bytesPerSecond?: number;
}

/** `POST <endpoint>/upload` of one slice. */
export function uploadChunk(target: TransportTarget, chunk: Chunk): Promise<TransportOutcome> {
  const headers: Record<string, string> = {
    [H_START_BYTE]: String(chunk.start),
    [H_FILE_SIZE]: String(chunk.fileSize),
    'Content-Type': 'application/octet-stream',
  };
  if (chunk.digest !== undefined) headers[H_CONTENT_DIGEST] = chunk.digest;
  if (chunk.fileName !== undefined) headers[H_FILE_NAME] = encodeHeaderText(chunk.fileName);
  return send(target, 'POST', '/upload', headers, chunk.body, chunk.bytesPerSecond);
}

/** `DELETE <endpoint>/upload`: drop the server's partial data. */
export function deleteUpload(target: TransportTarget): Promise<TransportOutcome> {
  return send(target, 'DELETE', '/upload', {}, undefined);
}

async function send(
  target: TransportTarget,
  method: string,
  path: string,
  extra: Record<string, string>,
  body: Blob | undefined,
  bytesPerSecond?: number,
): Promise<TransportOutcome> {
  const timeoutMs = requestTimeoutMs(body?.size ?? 0, target.timeouts, bytesPerSecond);
  // Without a timeout a server that never answers would stall this upload forever.
  const signal = AbortSignal.any([target.signal, AbortSignal.timeout(timeoutMs)]);
  const url = `${target.endpoint}${path}`;
  try {
    const response = await target.fetch(url, {
      method,
      headers: { ...target.headers, ...extra, [H_FILE_ID]: target.fileId },
      ...(body === undefined ? {} : { body }),
      signal,
      cache: 'no-store',
    });
    const text = await response.text();
    return classify(response, text, method);
  } catch (cause) {
    if (target.signal.aborted) return { kind: 'aborted' };
    const timedOut = signal.aborted;
    const message = timedOut
      ? `${method} ${path} timed out: no answer within ${Math.round(timeoutMs / 1000)} s`
      : `${method} ${path} failed: ${describe(cause)}`;
    return { kind: 'transient', error: new UploadError('NETWORK', message, { cause }) };
  }
}

function classify(response: Response, text: string, method: string): TransportOutcome {
  const status = response.status;
  const offset = parseByteCount(response.headers.get(H_UPLOAD_OFFSET) ?? '') ?? parseByteCount(text.trim());
  if (status >= 200 && status < 300) {
    if (method === 'DELETE') return { kind: 'ok', offset: 0, complete: false };
    if (offset === undefined) {
      return { kind: 'transient', error: new UploadError('SERVER', `Server sent no offset (HTTP ${status})`, { status }) };
    }
    return { kind: 'ok', offset, complete: parseComplete(response.headers.get(H_UPLOAD_COMPLETE)) };
  }
  const serverCode = response.headers.get(H_ERROR_CODE) ?? undefined;
  // A 409 is a re-sync (also what a silently replayed POST gets), except a size mismatch:
  // the server took this file id for a file of another size, and re-syncing would loop.
  if (status === 409 && !(serverCode !== undefined && PERMANENT_CONFLICTS.has(serverCode))) {
    return { kind: 'conflict', offset, complete: parseComplete(response.headers.get(H_UPLOAD_COMPLETE)) };
  }
  const reason = firstLine(text) || response.statusText || 'no reason given';
  const options = { status, ...(serverCode === undefined ? {} : { serverCode }) };
  if (status >= 500 || TRANSIENT_STATUSES.has(status) || (serverCode !== undefined && RETRYABLE_SERVER_CODES.has(serverCode))) {
    const retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'));
    const error = new UploadError(status >= 500 ? 'SERVER' : 'REJECTED', `HTTP ${status}: ${reason}`, options);
    return { kind: 'transient', error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { kind: 'permanent', error: new UploadError('REJECTED', `HTTP ${status}: ${reason}`, options) };
}

function firstLine(text: string): string {
  return text.trim().split(/\r?\n/, 1)[0]?.slice(0, 500) ?? '';
}

/** `Retry-After` in seconds (the HTTP-date form is rare for uploads and ignored). */
function parseRetryAfter(value: string | null): number | undefined {
  const seconds = parseByteCount(value?.trim() ?? '');
  return seconds === undefined ? undefined : seconds * 1000;
}

function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = cause.cause instanceof Error ? ` (${cause.cause.message})` : '';
  return `${cause.message}${inner}`;
}
