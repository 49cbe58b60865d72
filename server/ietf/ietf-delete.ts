// DELETE /files/<id> with the draft's header: upload cancellation. Ending requests in flight on it
// is the takeover's work. A finished upload belongs to the application (onComplete): 409.
import { UploadServerError } from '../errors.js';
import type { UploadServices } from '../protocol.js';
import { textError } from '../responses.js';
import { underLease } from '../services.js';
import type { UploadRef } from '../storage.js';
import type { UploadResponse } from '../types.js';

export function deleteIetf(ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  return underLease(services, ref, async (_lease, held) => {
    if (held === undefined) return unknownUpload();
    await services.storage.remove(ref);
    return { status: 204, headers: {}, body: '' };
  });
}

export function unknownUpload(): UploadResponse {
  return textError(new UploadServerError('NOT_FOUND', 'no such upload (it expired, was cancelled, or never existed)'));
}
