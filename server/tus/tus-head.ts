// HEAD /files/<id>: where the upload stands (a takeover point: it ends an older request on it).
import { UPLOAD_DEFER_LENGTH } from '../../src/protocol/tus.js';
import { UploadServerError } from '../errors.js';
import type { UploadServices } from '../protocol.js';
import { textError } from '../responses.js';
import { underLease } from '../services.js';
import { readDescription, type UploadRef } from '../storage.js';
import type { UploadResponse } from '../types.js';
import { metadataOf } from './tus-headers.js';

export function headTus(ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  return underLease(services, ref, async (_lease, held) => {
    if (held === undefined) return notFound();
    return {
      status: 200,
      headers: {
        // "The Server MUST always include the Upload-Offset header ... even if the offset is 0."
        'upload-offset': String(held.offset),
        ...(held.size === undefined ? { [UPLOAD_DEFER_LENGTH.toLowerCase()]: '1' } : { 'upload-length': String(held.size) }),
        ...metadataOf(readDescription(held.name)),
        // "The Server MUST prevent the client and/or proxies from caching the response."
        'cache-control': 'no-store',
      },
      body: '',
    };
  });
}

/**
 * An unknown (or expired, or terminated) upload: 404 without Upload-Offset. Never 5xx: a 4xx is
 * what makes tus-js-client forget the URL and start again.
 */
export function notFound(): UploadResponse {
  return textError(new UploadServerError('NOT_FOUND', 'no such upload (it expired, was terminated, or never existed)'));
}
