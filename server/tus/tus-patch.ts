// PATCH /files/<id>: the core protocol's append, with checksum and creation-defer-length's late
// Upload-Length.
import { TUS_CONTENT_TYPE, UPLOAD_LENGTH, UPLOAD_OFFSET } from '../../src/protocol/tus.js';
import { UploadServerError } from '../errors.js';
import type { UploadServices } from '../protocol.js';
import { underLease } from '../services.js';
import type { UploadRef } from '../storage.js';
import type { UploadRequest, UploadResponse } from '../types.js';
import { appendTus } from './tus-append.js';
import { checksumOf } from './tus-checksum.js';
import { byteCountHeader, contentType, expiresOf } from './tus-headers.js';
import { notFound } from './tus-head.js';

export async function patchTus(req: UploadRequest, ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  // "All PATCH requests MUST use Content-Type: application/offset+octet-stream, otherwise 415."
  if (contentType(req) !== TUS_CONTENT_TYPE) throw new UploadServerError('UNSUPPORTED_MEDIA_TYPE', `a PATCH body must be ${TUS_CONTENT_TYPE}`);
  const start = byteCountHeader(req, UPLOAD_OFFSET);
  if (start === undefined) throw new UploadServerError('BAD_REQUEST', 'a PATCH needs Upload-Offset');
  const length = byteCountHeader(req, UPLOAD_LENGTH);
  const checksum = checksumOf(req);
  const contentLength = byteCountHeader(req, 'content-length');
  return underLease(services, ref, async (lease, held) => {
    // "If the server receives a PATCH request against a non-existent resource it SHOULD return 404."
    if (held === undefined) return notFound();
    const at = { offset: held.offset, complete: held.complete };
    if (lease.signal.aborted) throw new UploadServerError('BUSY', undefined, at);
    // "If the offsets do not match, the Server MUST respond with 409 without modifying the upload."
    if (start !== held.offset) throw new UploadServerError('OFFSET_MISMATCH', `Upload-Offset is ${start} but the upload holds ${held.offset} bytes`, at);
    // "Once set the length MUST NOT be changed."
    if (length !== undefined && held.size !== undefined && length !== held.size) {
      throw new UploadServerError('BAD_REQUEST', `Upload-Length is ${held.size} already; it cannot change to ${length}`, at);
    }
    if (length !== undefined && length < held.offset) throw new UploadServerError('BAD_REQUEST', `Upload-Length ${length} is below the ${held.offset} bytes held`, at);
    if (held.complete) {
      if ((contentLength ?? 1) !== 0) throw new UploadServerError('ALREADY_COMPLETE', undefined, at);
      return { status: 204, headers: { 'upload-offset': String(held.offset) }, body: '' };
    }
    const { offset, complete } = await appendTus(ref, req, lease, services, {
      held,
      start,
      length: held.size === undefined ? length : undefined,
      contentLength,
      checksum,
    });
    // "The Server MUST acknowledge successful PATCH requests with 204 ... the new offset."
    return { status: 204, headers: { 'upload-offset': String(offset), ...expiresOf(services, complete) }, body: '' };
  });
}
