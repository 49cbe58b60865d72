// DELETE /files/<id>: the termination extension. A finished upload belongs to the application
// (onComplete has it), so only unfinished ones are terminated: 409 for a finished one.
import type { UploadServices } from '../protocol.js';
import { underLease } from '../services.js';
import type { UploadRef } from '../storage.js';
import type { UploadResponse } from '../types.js';
import { notFound } from './tus-head.js';

export function deleteTus(ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  return underLease(services, ref, async (_lease, held) => {
    if (held === undefined) return notFound();
    await services.storage.remove(ref);
    // "... MUST respond with the 204 No Content status confirming that the upload was terminated."
    return { status: 204, headers: {}, body: '' };
  });
}
