// HEAD (or GET) /files/<id> with the draft's header: offset retrieval (a takeover point).
import type { UploadServices } from '../protocol.js';
import { underLease } from '../services.js';
import type { UploadRef } from '../storage.js';
import type { UploadResponse } from '../types.js';
import { limitHeaders, stateHeaders } from './ietf-answers.js';
import { unknownUpload } from './ietf-delete.js';

export function headIetf(ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  return underLease(services, ref, async (_lease, held) => {
    if (held === undefined) return unknownUpload();
    return {
      status: 204,
      // Upload-Offset, Upload-Complete, Upload-Length when known, Upload-Limit (required since
      // interop version 8), and no caching.
      headers: { ...stateHeaders(held), ...limitHeaders(services, false), 'cache-control': 'no-store' },
      body: '',
    };
  });
}
