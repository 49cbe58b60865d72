// The answers of the IETF draft handlers: the upload's state in Structured Fields, Upload-Limit,
// problem details (RFC 9457) of the two problem types the draft defines, and errors.
import { H_ERROR_CODE } from '../../src/protocol/wire.js';
import { formatSfBoolean, formatUploadLimit, INCONSISTENT_LENGTH, MISMATCHING_OFFSET, PROBLEM_JSON, UPLOAD_COMPLETE, UPLOAD_LIMIT } from '../../src/protocol/ietf.js';
import { UploadServerError } from '../errors.js';
import type { UploadServices } from '../protocol.js';
import { textError } from '../responses.js';
import type { UploadResponse } from '../types.js';

/**
 * `Upload-Limit`: the largest upload, the bounds on one append where the operator set them, and, on answers to a request that just wrote the upload,
 * how long it lives untouched (`max-age`, counted from this answer; a HEAD does not extend it).
 */
export function limitHeaders(services: UploadServices, written: boolean): Record<string, string> {
  const expiry = written ? services.expiry() : undefined;
  const maxAge = expiry === undefined ? {} : { 'max-age': Math.floor(expiry.afterMs / 1000) };
  const { min, max } = services.ietfAppendSize;
  const append = { ...(max === undefined ? {} : { 'max-append-size': max }), ...(min === undefined ? {} : { 'min-append-size': min }) };
  return { [UPLOAD_LIMIT.toLowerCase()]: formatUploadLimit({ 'max-size': services.maxUploadSize, ...append, ...maxAge }) };
}

export function stateHeaders(state: { offset: number; complete: boolean; size?: number | undefined }): Record<string, string> {
  return {
    'upload-offset': String(state.offset),
    [UPLOAD_COMPLETE.toLowerCase()]: formatSfBoolean(state.complete),
    ...(state.size === undefined ? {} : { 'upload-length': String(state.size) }),
  };
}

function problem(status: number, code: UploadServerError['code'], body: Record<string, unknown>, headers: Record<string, string>): UploadResponse {
  return {
    status,
    headers: { 'content-type': PROBLEM_JSON, 'cache-control': 'no-store', ...headers, [H_ERROR_CODE]: code },
    body: JSON.stringify(body),
  };
}

/** 409: "MUST reject ... with Upload-Complete set to false ... MUST include the correct offset". */
export function mismatchingOffset(expected: number, provided: number): UploadResponse {
  return problem(
    409,
    'OFFSET_MISMATCH',
    { type: MISMATCHING_OFFSET, title: 'offset from request does not match offset of resource', 'expected-offset': expected, 'provided-offset': provided },
    { 'upload-offset': String(expected), [UPLOAD_COMPLETE.toLowerCase()]: '?0' },
  );
}

/** 400: the request's length values disagree with each other or with the one recorded. */
export function inconsistentLength(detail: string): UploadResponse {
  return problem(400, 'SIZE_MISMATCH', { type: INCONSISTENT_LENGTH, title: 'inconsistent length values for upload', detail }, { [UPLOAD_COMPLETE.toLowerCase()]: '?0' });
}

/** 400: an append that does not complete the upload carries less than the server's min-append-size. */
export function appendTooSmall(services: UploadServices, min: number, bytes: number): UploadResponse {
  const err = new UploadServerError('BAD_REQUEST', `an append that does not complete the upload must carry at least ${min} bytes (Upload-Limit min-append-size); this one has ${bytes}`);
  return textError(err, 400, { [UPLOAD_COMPLETE.toLowerCase()]: '?0', ...limitHeaders(services, false) });
}

/** Any other error, in text; every creation or append answer says the upload is not complete. */
export function ietfError(err: UploadServerError, services: UploadServices): UploadResponse {
  const extra: Record<string, string> = { [UPLOAD_COMPLETE.toLowerCase()]: '?0' };
  if (err.offset !== undefined) extra['upload-offset'] = String(err.offset);
  // "A server responding with 413 as a result of its upload limits SHOULD include Upload-Limit."
  return textError(err, err.status, err.status === 413 ? { ...extra, ...limitHeaders(services, false) } : extra);
}
