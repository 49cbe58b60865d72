// What tus and the IETF draft keep between requests: the upload URL the server gave, in the
// upload's record (`remote`), so resuming works across worker and browser restarts. A URL the
// server forgets (404/410: expired) is replaced by a new upload from zero, once: a URL that is
// forgotten before the server ever confirmed it fails the upload instead of looping.
import { UploadError } from '../../src/protocol/index.js';
import type { TransportOutcome, TransportUpload } from './port.js';

/** Files up to this size are created with their bytes in the same request (one round trip). */
export const SMALL_FILE_BYTES = 256 * 1024;

/** The upload URL, when the server gave one. */
export function uploadUrl(upload: TransportUpload): string | undefined {
  return upload.remote?.['url'];
}

/** What to keep after the server created an upload: its URL, not yet confirmed by a later answer. */
export function created(location: string, upload: TransportUpload): Readonly<Record<string, string>> | undefined {
  try {
    // Relative to the endpoint, as tus-js-client resolves it.
    return { url: new URL(location, upload.endpoint).href, fresh: '1' };
  } catch {
    return undefined;
  }
}

/** What to keep once an answer about the URL confirmed it (nothing to write when it was confirmed before). */
export function confirmed(upload: TransportUpload): { remote?: Readonly<Record<string, string>> } {
  const url = uploadUrl(upload);
  return url !== undefined && upload.remote?.['fresh'] === '1' ? { remote: { url } } : {};
}

/**
 * 404 or 410 for the upload URL: the server no longer has it (expired, or removed). Undefined when
 * it may be replaced by a new upload from zero; the failure when that would loop.
 */
export function forgotten(upload: TransportUpload, status: number): TransportOutcome | undefined {
  if (upload.remote?.['fresh'] !== '1') return undefined;
  return {
    kind: 'failed',
    error: new UploadError('REJECTED', `HTTP ${status}: the server forgot the upload it had just created (${uploadUrl(upload) ?? ''}); not starting over again`, { status }),
  };
}

/** The upload without its URL: what a new creation starts from. */
export function withoutUrl(upload: TransportUpload): TransportUpload {
  const { remote: _remote, ...rest } = upload;
  return rest;
}

/** A 2xx without a usable Location. */
export function noLocation(status: number): TransportOutcome {
  return { kind: 'failed', error: new UploadError('SERVER', `HTTP ${status}: the server created the upload but sent no usable Location`, { status }) };
}

/** The server's upload at this URL has another length than the file: it belongs to another file. */
export function otherLength(upload: TransportUpload, length: number | undefined): TransportOutcome | undefined {
  if (length === undefined || length === upload.size) return undefined;
  return { kind: 'failed', error: new UploadError('REJECTED', `The upload at ${uploadUrl(upload) ?? ''} is ${length} bytes long, this file ${upload.size}`) };
}
