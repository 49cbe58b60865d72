// The IETF draft "Resumable Uploads for HTTP" (draft-ietf-httpbis-resumable-upload), interop
// version 8, on the wire: field names, media type, problem types, and the Structured Field
// values it uses (RFC 9651), shared by the worker's IetfTransport and the server's handlers.

export const INTEROP_VERSION = 8;
export const UPLOAD_DRAFT_INTEROP_VERSION = 'Upload-Draft-Interop-Version';
export const UPLOAD_COMPLETE = 'Upload-Complete';
export const UPLOAD_LIMIT = 'Upload-Limit';
// Upload-Offset and Upload-Length share their names with tus (tus.ts).

/** `Content-Type` of an append (PATCH). */
export const PARTIAL_UPLOAD_TYPE = 'application/partial-upload';
export const PROBLEM_JSON = 'application/problem+json';
export const MISMATCHING_OFFSET = 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset';
export const INCONSISTENT_LENGTH = 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length';

/** Request headers a draft client sends (what a server's CORS must allow). */
export const IETF_REQUEST_HEADERS = [
  UPLOAD_DRAFT_INTEROP_VERSION,
  UPLOAD_COMPLETE,
  'Upload-Offset',
  'Upload-Length',
  'Content-Type',
  'Content-Disposition',
  'Content-Digest',
] as const;

/** Response headers a draft client reads (what a server's CORS must expose). */
export const IETF_RESPONSE_HEADERS = ['Location', 'Upload-Offset', UPLOAD_COMPLETE, 'Upload-Length', UPLOAD_LIMIT, UPLOAD_DRAFT_INTEROP_VERSION] as const;

/** The bare item of a Structured Field Item, its parameters dropped (`5;a=1` → `5`). */
function bareItem(value: string): string {
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim();
}

/** A non-negative Structured Field Integer (at most 15 digits), or undefined: the field is then ignored. */
export function parseSfInteger(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const item = bareItem(value);
  return /^[0-9]{1,15}$/.test(item) ? Number(item) : undefined;
}

/** A Structured Field Boolean (`?1`/`?0`), or undefined: the field is then ignored. */
export function parseSfBoolean(value: string | null | undefined): boolean | undefined {
  if (value === null || value === undefined) return undefined;
  const item = bareItem(value);
  return item === '?1' ? true : item === '?0' ? false : undefined;
}

export function formatSfBoolean(value: boolean): string {
  return value ? '?1' : '?0';
}

/** The members of `Upload-Limit` this implementation knows; unknown keys are ignored. */
export interface UploadLimit {
  readonly 'max-size'?: number;
  readonly 'min-size'?: number;
  readonly 'max-append-size'?: number;
  readonly 'min-append-size'?: number;
  readonly 'max-age'?: number;
}

const LIMIT_KEYS = ['max-size', 'min-size', 'max-append-size', 'min-append-size', 'max-age'] as const;

/** `max-size=1000, max-age=3600`; no limits at all is `min-size=0`, never an empty value. */
export function formatUploadLimit(limit: UploadLimit): string {
  const members = LIMIT_KEYS.filter((k) => limit[k] !== undefined).map((k) => `${k}=${limit[k]}`);
  return members.length > 0 ? members.join(', ') : 'min-size=0';
}

/**
 * The known members of an `Upload-Limit` dictionary. Undefined when the dictionary does not
 * parse or a known key has a value that is not an Integer (the field is then ignored).
 */
export function parseUploadLimit(value: string | null | undefined): UploadLimit | undefined {
  if (value === null || value === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const member of value.split(',')) {
    const m = /^\s*([a-z*][a-z0-9_.*-]*)(?:=([^;]*))?(?:;.*)?\s*$/.exec(member);
    if (!m) return undefined;
    const key = m[1]!;
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) continue;
    const n = parseSfInteger(m[2] ?? '');
    if (n === undefined) return undefined;
    out[key] = n;
  }
  return out as UploadLimit;
}

/**
 * `Content-Disposition: inline; filename*=UTF-8''<percent-encoded>` (RFC 6266/8187), which the
 * draft recommends for a file name, with a plain `filename="…"` beside it for older readers.
 */
export function formatContentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** The file name of a `Content-Disposition` value: `filename*` (UTF-8) before `filename`; undefined when neither parses. */
export function parseContentDisposition(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const extended = /;\s*filename\*\s*=\s*UTF-8'[^']*'([^;\s]+)/i.exec(value);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!);
    } catch {
      // a malformed escape: fall back to the plain parameter
    }
  }
  const quoted = /;\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(value);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const token = /;\s*filename\s*=\s*([^;"\s]+)/i.exec(value);
  return token?.[1];
}
