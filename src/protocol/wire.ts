// The status/slice wire protocol: header names and value parsing, shared by the
// service worker (client) and the server. No DOM or Node APIs here.
import { base64ToBytes, bytesToBase64 } from './base64.js';

/** Request headers. */
export const H_FILE_ID = 'X-File-Id';
export const H_START_BYTE = 'X-Start-Byte';
export const H_FILE_SIZE = 'X-File-Size';
/** Optional, percent-encoded original file name, kept in the completed file's metadata. */
export const H_FILE_NAME = 'X-File-Name';
/** RFC 9530 digest of the request body: `sha-256=:<base64>:`. */
export const H_CONTENT_DIGEST = 'Content-Digest';
/**
 * Integrity of the whole file, checked once when the request that carries it completes the
 * upload: `:<base64>:`, the SHA-256 of the concatenated SHA-256 digests of the file's consecutive
 * FILE_DIGEST_PIECE-byte pieces (the last may be shorter; an empty file has no pieces). Pieces,
 * not one SHA-256 of the whole file, because Web Crypto hashes only whole buffers: each piece is
 * hashed at Web Crypto's speed and memory stays at one piece.
 */
export const H_FILE_DIGEST = 'X-File-Digest';
export const FILE_DIGEST_PIECE = 8 * 1024 * 1024;

/** Response headers. */
export const H_UPLOAD_OFFSET = 'X-Upload-Offset';
/**
 * In an answer: `?1` when the server holds the whole file, `?0` otherwise (RFC 8941 boolean).
 * On a POST: `?0` asks the server not to complete the upload even if this body makes it whole: a
 * body-less POST at the file's size completes it later, carrying X-File-Digest (a client that
 * sends the file from byte 0 before its digest is computed). Servers that answer PROGRESS_PATH
 * understand it.
 */
export const H_UPLOAD_COMPLETE = 'X-Upload-Complete';
/** Stable machine-readable code of an error response (see `ServerErrorCode`). */
export const H_ERROR_CODE = 'X-Error-Code';

export const REQUEST_HEADERS = [H_FILE_ID, H_START_BYTE, H_FILE_SIZE, H_FILE_NAME, H_CONTENT_DIGEST, H_FILE_DIGEST, H_UPLOAD_COMPLETE] as const;

/**
 * `GET <endpoint>/progress` with X-File-Id answers as `GET /status` does (the offset as text,
 * X-Upload-Offset, X-Upload-Complete, X-File-Size), but takes nothing over: a POST in flight on
 * the upload goes on, and the offset counts the bytes of it the server has made durable so far
 * (a body without Content-Digest is made durable as it arrives, not only at its end). So a client
 * can send a file in one long request and still show what the server confirmed. Not a resume
 * point while its own POST runs (that POST may still add bytes): a resume asks `/status`. A server
 * without it answers 404, which is how a client tells.
 */
export const PROGRESS_PATH = '/progress';
export const RESPONSE_HEADERS = [H_UPLOAD_OFFSET, H_UPLOAD_COMPLETE, H_FILE_SIZE, H_ERROR_CODE] as const;

export const MAX_FILE_ID_BYTES = 1024;

/** Codes the server puts in `X-Error-Code`. */
export type ServerErrorCode =
  | 'BAD_FILE_ID'
  | 'BAD_START_BYTE'
  | 'BAD_FILE_SIZE'
  | 'BAD_DIGEST'
  | 'DIGEST_MISMATCH'
  | 'FILE_DIGEST_MISMATCH'
  | 'OFFSET_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'TOO_LARGE'
  | 'DISK_FULL'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_VERSION'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'ALREADY_COMPLETE'
  | 'BUSY'
  | 'TIMEOUT'
  | 'TOO_MANY_UPLOADS'
  | 'TOO_MANY_BYTES'
  | 'BAD_REQUEST'
  | 'HEADERS_TOO_LARGE'
  | 'UNAVAILABLE'
  | 'INTERNAL';

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a plain non-negative decimal integer no larger than 2^53-1: no sign, exponent,
 * fraction, hex, leading zeros or spaces. Returns undefined for anything else.
 */
export function parseByteCount(value: string): number | undefined {
  if (value.length > 16 || !DECIMAL.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Byte length of a header value as UTF-8. */
export function utf8Length(value: string): number {
  return new TextEncoder().encode(value).length;
}

export function isValidFileId(value: string | undefined): value is string {
  return value !== undefined && value.length > 0 && utf8Length(value) <= MAX_FILE_ID_BYTES;
}

/**
 * Extracts the sha-256 member of an RFC 9530 `Content-Digest` dictionary, as raw bytes.
 * Returns undefined when the header is malformed or carries no sha-256 member.
 */
export function parseContentDigest(value: string): Uint8Array | undefined {
  for (const member of value.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0) continue;
    const key = member.slice(0, eq).trim().toLowerCase();
    const item = member.slice(eq + 1).trim();
    if (key !== 'sha-256') continue;
    if (item.length < 2 || !item.startsWith(':') || !item.endsWith(':')) return undefined;
    const b64 = item.slice(1, -1);
    const bytes = base64ToBytes(b64);
    return bytes?.length === 32 ? bytes : undefined;
  }
  return undefined;
}

/** `:<base64>:` (an RFC 8941 byte sequence) as 32 bytes, or undefined. */
export function parseFileDigest(value: string): Uint8Array | undefined {
  const item = value.trim();
  if (item.length < 2 || !item.startsWith(':') || !item.endsWith(':')) return undefined;
  const bytes = base64ToBytes(item.slice(1, -1));
  return bytes?.length === 32 ? bytes : undefined;
}

export function formatContentDigest(sha256: Uint8Array): string {
  return `sha-256=:${bytesToBase64(sha256)}:`;
}

/** The SHA-256 of `data` as an RFC 9530 `Content-Digest` value (Web Crypto: page, worker and Node). */
export async function contentDigestOf(data: ArrayBuffer | Uint8Array): Promise<string> {
  return `sha-256=:${await sha256Base64(data)}:`;
}

/** The SHA-256 of `data`, base64 (Web Crypto: page, worker and Node). */
export async function sha256Base64(data: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data as Parameters<typeof crypto.subtle.digest>[1]);
  return bytesToBase64(new Uint8Array(digest));
}

export function formatComplete(complete: boolean): string {
  return complete ? '?1' : '?0';
}

export function parseComplete(value: string | null | undefined): boolean {
  return value?.trim() === '?1';
}
