// Appending a tus body, for a PATCH and for a creation that carries bytes: checksum, append within
// the limits, and completion once the upload holds its whole length.
import { UploadServerError } from '../errors.js';
import type { Lease } from '../locks.js';
import type { UploadServices } from '../protocol.js';
import type { UploadRef, UploadStatus } from '../storage.js';
import type { UploadRequest } from '../types.js';
import { checkedBody, type Checksum } from './tus-checksum.js';

export interface TusAppend {
  /** What the storage held under the lease (undefined: a new upload). */
  readonly held: UploadStatus | undefined;
  /** Checked against `held` by the caller. */
  readonly start: number;
  /** Upload-Length, when this request sets it. */
  readonly length: number | undefined;
  /** The description to record with a new upload (see describeFile). */
  readonly name?: string | undefined;
  readonly contentLength: number | undefined;
  readonly checksum: Checksum | undefined;
}

/** Appends and completes; the upload is complete once its offset reaches its length. */
export async function appendTus(
  ref: UploadRef,
  req: UploadRequest,
  lease: Lease,
  services: UploadServices,
  a: TusAppend,
): Promise<{ offset: number; complete: boolean }> {
  const length = a.held?.size ?? a.length;
  if (a.contentLength !== undefined && length !== undefined && a.start + a.contentLength > length) {
    throw new UploadServerError('TOO_LARGE', `the body would take the upload past its Upload-Length of ${length}`, { offset: a.start });
  }
  const checked = a.checksum === undefined ? { req, sha256: undefined, release: () => undefined } : await checkedBody(req, lease, services, a.checksum, a.contentLength);
  let offset: number;
  try {
    ({ offset } = await services.append(ref, checked.req, lease, {
      held: a.held,
      start: a.start,
      size: a.length,
      name: a.name,
      digest: checked.sha256,
      contentLength: a.contentLength,
      completing: length !== undefined, // tus completes once the length is known and reached
    }));
  } finally {
    checked.release();
  }
  if (length === undefined || offset !== length) return { offset, complete: false };
  await services.complete(ref);
  return { offset, complete: true };
}
