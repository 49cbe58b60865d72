// Appending to an upload of the draft: the body of a creation request or of a PATCH, and what
// follows — completion when the client marks the upload complete, or the offset acknowledged.
import { UploadServerError } from '../errors.js';
import type { Lease } from '../locks.js';
import type { UploadServices } from '../protocol.js';
import type { UploadRef, UploadStatus } from '../storage.js';
import { underLease } from '../services.js';
import type { UploadRequest, UploadResponse } from '../types.js';
import { unknownUpload } from './ietf-delete.js';
import { appendTooSmall, inconsistentLength, limitHeaders, mismatchingOffset, stateHeaders } from './ietf-answers.js';
import { appendHeaders, type AppendHeaders } from './ietf-request.js';

/** PATCH /files/<id>: an append, under the upload's lease (a takeover point). */
export function patchIetf(req: UploadRequest, ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  const h = appendHeaders(req);
  return underLease(services, ref, async (lease, held) => {
    if (held === undefined) return unknownUpload();
    if (lease.signal.aborted) throw new UploadServerError('BUSY', undefined, { offset: held.offset });
    // "If the Upload-Offset request header field value does not match the current offset, the
    // server MUST reject the request with a 409 (Conflict) status code."
    if (h.offset !== held.offset) return mismatchingOffset(held.offset, h.offset);
    if (held.complete) {
      // "The server can choose to replay the final response ... if the request ... is valid."
      if (h.complete && (h.contentLength ?? 0) === 0) return finalAnswer(held.offset, undefined);
      return inconsistentLength(`the upload is complete at ${held.offset} bytes; nothing can be appended`);
    }
    return appendIetf(req, ref, lease, held, h, services, undefined);
  });
}

/**
 * Appends the request's body at `held.offset` and answers: the final answer when the request
 * completes the upload, else the acknowledged offset. `location` is the upload's, for a creation.
 */
export async function appendIetf(
  req: UploadRequest,
  ref: UploadRef,
  lease: Lease,
  held: UploadStatus,
  h: AppendHeaders,
  services: UploadServices,
  location: string | undefined,
): Promise<UploadResponse> {
  const start = held.offset;
  // The length, three ways: recorded, Upload-Length, and Upload-Complete: ?1 with Content-Length.
  // "If indicators (1) and (2) are both present in the same request, their indicated lengths MUST match."
  const fromContent = h.complete && h.contentLength !== undefined ? start + h.contentLength : undefined;
  const known = [held.size, h.length, fromContent].filter((n): n is number => n !== undefined);
  if (known.some((n) => n !== known[0])) return inconsistentLength(`the lengths given (${known.join(', ')}) differ`);
  const length = known[0];
  if (length !== undefined && length < start) return inconsistentLength(`the length ${length} is below the ${start} bytes held`);
  const empty = h.contentLength === 0;
  const refused = outOfBounds(h, services, start);
  if (refused !== undefined) return refused;
  const { offset } = empty
    ? { offset: start }
    : await services.append(ref, req, lease, {
        held,
        start,
        size: held.size === undefined ? length : undefined,
        digest: h.digest,
        contentLength: h.contentLength,
        maxBytes: services.ietfAppendSize.max,
        completing: h.complete,
      });
  if (!h.complete) {
    return {
      status: location === undefined ? 204 : 201,
      headers: { ...(location === undefined ? {} : { location }), ...stateHeaders({ offset, complete: false }), ...limitHeaders(services, true) },
      body: '',
    };
  }
  if (length !== undefined && offset !== length) return inconsistentLength(`the upload was marked complete at ${offset} bytes, its length is ${length}`);
  await services.complete(ref);
  return finalAnswer(offset, location);
}

/**
 * The operator's bounds on one append, by Content-Length: over max-append-size throws TOO_LARGE
 * (413 with Upload-Limit), under min-append-size answers 400. "[min-append-size] does not apply to
 * upload creation requests with no content, or to requests completing the upload." A body without
 * Content-Length is cut at the max as it is read (services.append's maxBytes).
 */
export function outOfBounds(h: AppendHeaders, services: UploadServices, start: number): UploadResponse | undefined {
  const { min, max } = services.ietfAppendSize;
  if (max !== undefined && (h.contentLength ?? 0) > max) {
    throw new UploadServerError('TOO_LARGE', `one append may carry at most ${max} bytes (Upload-Limit max-append-size); this one has ${h.contentLength}`, { offset: start });
  }
  if (min !== undefined && !h.complete && h.contentLength !== undefined && h.contentLength > 0 && h.contentLength < min) return appendTooSmall(services, min, h.contentLength);
  return undefined;
}

/**
 * What the target resource answers once the representation is whole: Upload-Complete: ?1 and,
 * for a creation, the upload's Location (so a client that lost this answer can still ask).
 */
function finalAnswer(size: number, location: string | undefined): UploadResponse {
  return {
    status: 200,
    headers: { ...(location === undefined ? {} : { location }), ...stateHeaders({ offset: size, complete: true, size }), 'content-type': 'text/plain; charset=utf-8' },
    body: `complete: ${size} bytes\n`,
  };
}
