// Which uploader error an HTTP answer is, for every protocol. Pure: the table tests read it.
import { UploadError, type UploadErrorCode } from '../../src/protocol/index.js';
import type { ResponseFacts } from './exchange.js';
import type { TransportOutcome } from './port.js';

/** Server error codes (`X-Error-Code`) that mean the body was damaged on the way: send it again. */
const DAMAGED_BODY: ReadonlySet<string> = new Set(['DIGEST_MISMATCH', 'FILE_DIGEST_MISMATCH']);

/** The uploader's code for an HTTP error status (4xx/5xx). */
export function codeForStatus(status: number, serverCode?: string): UploadErrorCode {
  // 460 is tus's Checksum Mismatch: the chunk was damaged on the way and discarded.
  if ((serverCode !== undefined && DAMAGED_BODY.has(serverCode)) || status === 460) return 'CORRUPTED';
  // 423 Locked: tusd's answer while another request holds the upload; it lets go shortly.
  if (status === 423) return 'SERVER';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 408) return 'TIMEOUT';
  if (status === 429) return 'THROTTLED';
  if (status >= 500) return 'SERVER';
  return 'REJECTED';
}

/** An error for an HTTP answer, with the server's reason as its message. */
export function httpError(status: number, reason: string, serverCode?: string, statusText?: string): UploadError {
  const why = firstLine(reason) || statusText || 'no reason given';
  return new UploadError(codeForStatus(status, serverCode), `HTTP ${status}: ${why}`, {
    status,
    ...(serverCode === undefined ? {} : { serverCode }),
  });
}

/** A 4xx/5xx answer as a failed outcome: its code, the server's reason, and `Retry-After` when given. */
export function failedAnswer(res: ResponseFacts): TransportOutcome {
  const error = httpError(res.status, res.text, res.header('X-Error-Code') ?? undefined, res.statusText);
  const retryAfterMs = parseRetryAfter(res.header('Retry-After'));
  return { kind: 'failed', error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}

/** A 2xx that lacks what the protocol requires of it (an offset, a Location): a confused server, retried. */
export function malformedAnswer(res: ResponseFacts, why: string): TransportOutcome {
  return { kind: 'failed', error: new UploadError('SERVER', `HTTP ${res.status}: ${why}`, { status: res.status }) };
}

export function isSuccess(res: ResponseFacts): boolean {
  return res.status >= 200 && res.status < 300;
}

/** `Retry-After` in seconds, as ms (the HTTP-date form is rare for uploads and ignored). */
export function parseRetryAfter(value: string | null): number | undefined {
  const text = value?.trim() ?? '';
  if (!/^[0-9]{1,9}$/.test(text)) return undefined;
  return Number(text) * 1000;
}

/**
 * A request that got no answer. A page that carried it went away (page-assisted uploads): where
 * the server stands is unknown, so re-sync at once (a status request) rather than back off.
 */
export function noAnswer(what: string, cause: unknown): Extract<TransportOutcome, { kind: 'conflict' | 'failed' }> {
  if ((cause as { name?: unknown } | null)?.name === 'CourierGone') return { kind: 'conflict', offset: undefined, complete: false };
  return { kind: 'failed', error: unreachable(what, cause) };
}

/** The error for a request that never got an answer. */
export function unreachable(what: string, cause: unknown): UploadError {
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new UploadError('NETWORK', `${what} failed: the server could not be reached (${detail})`, { cause });
}

function firstLine(text: string): string {
  return text.trim().split(/\r?\n/, 1)[0]?.slice(0, 500) ?? '';
}
