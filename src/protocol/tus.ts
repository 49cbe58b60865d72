// tus 1.0 on the wire: header names and value syntax, shared by the worker's TusTransport and the
// server's tus handlers (tus/tus-resumable-upload-protocol protocol.md). No DOM or Node APIs here.
import { base64ToBytes, bytesToBase64 } from './base64.js';

export const TUS_VERSION = '1.0.0';
/** `Content-Type` of PATCH bodies (and of a creation request that carries bytes). */
export const TUS_CONTENT_TYPE = 'application/offset+octet-stream';

export const TUS_RESUMABLE = 'Tus-Resumable';
export const TUS_VERSIONS = 'Tus-Version';
export const TUS_EXTENSION = 'Tus-Extension';
export const TUS_MAX_SIZE = 'Tus-Max-Size';
export const TUS_CHECKSUM_ALGORITHM = 'Tus-Checksum-Algorithm';
export const UPLOAD_OFFSET = 'Upload-Offset';
export const UPLOAD_LENGTH = 'Upload-Length';
export const UPLOAD_DEFER_LENGTH = 'Upload-Defer-Length';
export const UPLOAD_METADATA = 'Upload-Metadata';
export const UPLOAD_EXPIRES = 'Upload-Expires';
export const UPLOAD_CHECKSUM = 'Upload-Checksum';
export const UPLOAD_CONCAT = 'Upload-Concat';
export const METHOD_OVERRIDE = 'X-HTTP-Method-Override';

/** Request headers a tus client sends (what a server's CORS must allow). */
export const TUS_REQUEST_HEADERS = [
  TUS_RESUMABLE,
  UPLOAD_LENGTH,
  UPLOAD_METADATA,
  UPLOAD_OFFSET,
  UPLOAD_DEFER_LENGTH,
  UPLOAD_CONCAT,
  UPLOAD_CHECKSUM,
  'Content-Type',
  METHOD_OVERRIDE,
  'X-Requested-With',
] as const;

/** Response headers a tus client reads (what a server's CORS must expose). */
export const TUS_RESPONSE_HEADERS = [
  'Location',
  UPLOAD_OFFSET,
  UPLOAD_LENGTH,
  UPLOAD_DEFER_LENGTH,
  UPLOAD_METADATA,
  UPLOAD_EXPIRES,
  TUS_RESUMABLE,
  TUS_VERSIONS,
  TUS_EXTENSION,
  TUS_MAX_SIZE,
  TUS_CHECKSUM_ALGORITHM,
] as const;

/**
 * `Upload-Metadata` from text pairs: `key base64(utf8(value))`, comma-separated; an empty value
 * is sent as the key alone. Keys must be non-empty, without spaces or commas.
 */
export function formatTusMetadata(pairs: Readonly<Record<string, string>>): string {
  const utf8 = new TextEncoder();
  return Object.entries(pairs)
    .map(([key, value]) => (value === '' ? key : `${key} ${bytesToBase64(utf8.encode(value))}`))
    .join(',');
}

/**
 * The pairs of an `Upload-Metadata` value, each value decoded from base64 as UTF-8 text (bytes
 * that are not UTF-8 are read as latin1, one character per byte). Undefined when the value breaks
 * the spec's syntax: an empty or duplicate key, a key with a space, a value that is not base64.
 */
export function parseTusMetadata(header: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (header.trim() === '') return out;
  for (const part of header.split(',')) {
    const pair = part.trim();
    const space = pair.indexOf(' ');
    const key = space < 0 ? pair : pair.slice(0, space);
    const encoded = space < 0 ? '' : pair.slice(space + 1).trim();
    if (key === '' || /\s/.test(key) || out.has(key) || encoded.includes(' ')) return undefined;
    const bytes = base64ToBytes(encoded);
    if (bytes === undefined) return undefined;
    out.set(key, textOf(bytes));
  }
  return out;
}

function textOf(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return String.fromCharCode(...bytes);
  }
}

/** A comma-separated list header (`Tus-Version`, `Tus-Extension`, `Tus-Checksum-Algorithm`) as its items. */
export function parseTusList(value: string | null | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `Upload-Checksum: <algorithm> <base64>`: the algorithm (lower case) and the digest bytes, or undefined. */
export function parseUploadChecksum(value: string): { algorithm: string; digest: Uint8Array } | undefined {
  const match = /^\s*([a-z0-9-]+) +([A-Za-z0-9+/=]+)\s*$/.exec(value);
  if (!match) return undefined;
  const digest = base64ToBytes(match[2]!);
  return digest === undefined ? undefined : { algorithm: match[1]!, digest };
}
