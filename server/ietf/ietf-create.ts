// POST /files/ with the draft's header: upload creation, with or without (part of) the body.
// The upload exists before any byte is read, so the 104 can name it and a client that lost the
// connection can ask it where it stands.
import { INTEROP_VERSION, UPLOAD_DRAFT_INTEROP_VERSION } from '../../src/protocol/ietf.js';
import { UploadServerError, toServerError } from '../errors.js';
import type { UploadServices } from '../protocol.js';
import { emptyBody, underLease } from '../services.js';
import { describeFile, type UploadStatus } from '../storage.js';
import type { UploadRequest, UploadResponse } from '../types.js';
import { newUploadToken, serverNamedRef, uploadPath } from '../upload-ids.js';
import { ietfError, inconsistentLength, limitHeaders } from './ietf-answers.js';
import { appendIetf, outOfBounds } from './ietf-append.js';
import { creationHeaders, describedBy } from './ietf-request.js';

export async function createIetf(req: UploadRequest, namespace: string, services: UploadServices): Promise<UploadResponse> {
  const h = creationHeaders(req);
  if (h.complete && h.length !== undefined && h.contentLength !== undefined && h.length !== h.contentLength) {
    return inconsistentLength(`Upload-Length ${h.length} differs from Content-Length ${h.contentLength} of a complete upload`);
  }
  const length = h.length ?? (h.complete ? h.contentLength : undefined);
  if (length !== undefined && length > services.maxUploadSize) {
    throw new UploadServerError('TOO_LARGE', `the upload is larger than this server's limit of ${services.maxUploadSize} bytes`);
  }
  // Checked before the upload exists: a refused creation names no Location, so it must leave nothing.
  const refused = outOfBounds(h, services, 0);
  if (refused !== undefined) return refused;
  const token = newUploadToken();
  const ref = serverNamedRef(namespace, token);
  const location = `${req.basePath ?? ''}${uploadPath(token)}`;
  const name = describeFile(describedBy(req));
  return underLease(services, ref, async (lease) => {
    await services.append(ref, { ...req, body: emptyBody() }, lease, { held: undefined, start: 0, size: length, name, contentLength: 0 });
    if (announces(req)) {
      req.inform?.(104, { location, ...limitHeaders(services, true), [UPLOAD_DRAFT_INTEROP_VERSION.toLowerCase()]: String(INTEROP_VERSION) });
    }
    const held: UploadStatus = { offset: 0, size: length, complete: false, name };
    // The upload exists now (and may hold what arrived, e.g. a body without Content-Length cut at
    // max-append-size): every answer names it, a refusal too, so the client can resume or delete it.
    const answer = await appendIetf(req, ref, lease, held, h, services, location).catch((err: unknown) => ietfError(toServerError(err), services));
    return { ...answer, headers: { ...answer.headers, location } };
  });
}

/**
 * Whether to send `104 Upload Resumption Supported`: only to a client that asked for this interop
 * version (checked before) and can see it. Browsers' fetch and XHR never show 1xx answers, and
 * every browser request names its mode (Sec-Fetch-Mode) or, cross-origin and for every POST, its
 * Origin: a request with either gets no 104.
 */
function announces(req: UploadRequest): boolean {
  return req.headers['origin'] === undefined && req.headers['sec-fetch-mode'] === undefined;
}
