// Reading the draft's request fields. Structured Field values that do not parse are ignored, as
// the draft says ("Other values MUST cause the entire header field to be ignored").
import { PARTIAL_UPLOAD_TYPE, parseContentDisposition, parseSfBoolean, parseSfInteger, UPLOAD_COMPLETE } from '../../src/protocol/ietf.js';
import { parseByteCount, parseContentDigest } from '../../src/protocol/wire.js';
import { UploadServerError } from '../errors.js';
import type { FileDescription } from '../storage.js';
import type { UploadRequest } from '../types.js';

export interface AppendHeaders {
  /** Upload-Offset (creation: 0). */
  readonly offset: number;
  /** Upload-Complete. */
  readonly complete: boolean;
  /** Upload-Length. */
  readonly length: number | undefined;
  readonly contentLength: number | undefined;
  /** Content-Digest's sha-256 (RFC 9530): the body is appended only if it matches. */
  readonly digest: Uint8Array | undefined;
}

function completeOf(req: UploadRequest, what: string): boolean {
  const complete = parseSfBoolean(req.headers[UPLOAD_COMPLETE.toLowerCase()]);
  if (complete === undefined) throw new UploadServerError('BAD_REQUEST', `${what} needs Upload-Complete: ?0 or ?1`);
  return complete;
}

function common(req: UploadRequest): Omit<AppendHeaders, 'offset' | 'complete'> {
  const lengthRaw = req.headers['content-length'];
  const contentLength = lengthRaw === undefined ? undefined : parseByteCount(lengthRaw.trim());
  const digestRaw = req.headers['content-digest'];
  const digest = digestRaw === undefined ? undefined : parseContentDigest(digestRaw);
  if (digestRaw !== undefined && digest === undefined) throw new UploadServerError('BAD_DIGEST');
  return { length: parseSfInteger(req.headers['upload-length']), contentLength, digest };
}

/** The fields of a creation request (POST to /files/). */
export function creationHeaders(req: UploadRequest): AppendHeaders {
  return { offset: 0, complete: completeOf(req, 'creating a resumable upload'), ...common(req) };
}

/** The fields of an append (PATCH with application/partial-upload). */
export function appendHeaders(req: UploadRequest): AppendHeaders {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== PARTIAL_UPLOAD_TYPE) throw new UploadServerError('UNSUPPORTED_MEDIA_TYPE', `an append's body must be ${PARTIAL_UPLOAD_TYPE}`);
  const offset = parseSfInteger(req.headers['upload-offset']);
  if (offset === undefined) throw new UploadServerError('BAD_REQUEST', 'an append needs Upload-Offset');
  return { offset, complete: completeOf(req, 'an append'), ...common(req) };
}

/**
 * The representation metadata of a creation request: the file name from Content-Disposition (as
 * the draft suggests) and the media type from Content-Type.
 */
export function describedBy(req: UploadRequest): FileDescription {
  const name = parseContentDisposition(req.headers['content-disposition']);
  const type = req.headers['content-type']?.trim();
  return { ...(name === undefined ? {} : { name }), ...(type === undefined || type === '' ? {} : { type }) };
}
