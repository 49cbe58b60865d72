// The status/slice protocol (the classic resumable-upload article, extended with X-File-Size,
// Content-Digest, X-File-Digest, X-Upload-Complete: ?0, GET /progress and DELETE): its headers, its
// checks and its answers. Takeover, limits, body deadlines and completion are the shared services'
// (protocol.ts); storage is behind UploadStorage.
import {
  H_CONTENT_DIGEST,
  H_FILE_DIGEST,
  H_FILE_ID,
  H_FILE_NAME,
  H_FILE_SIZE,
  H_START_BYTE,
  H_UPLOAD_COMPLETE,
  PROGRESS_PATH,
  REQUEST_HEADERS,
  RESPONSE_HEADERS,
  isValidFileId,
  parseByteCount,
  parseContentDigest,
  parseFileDigest,
} from '../src/protocol/wire.js';
import { decodeHeaderText } from '../src/protocol/file-id.js';
import { UploadServerError, toServerError } from './errors.js';
import type { ProtocolHandler, UploadServices } from './protocol.js';
import { emptyResponse, errorResponse, offsetResponse } from './responses.js';
import { describeFile, type UploadRef, type UploadStatus } from './storage.js';
import { SERVER_NAMED, isServerNamed } from './upload-ids.js';
import type { UploadRequest, UploadResponse } from './types.js';

const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/status': ['GET', 'HEAD'],
  [PROGRESS_PATH]: ['GET', 'HEAD'],
  '/upload': ['POST', 'DELETE'],
};

export const statusSlice: ProtocolHandler = {
  methods: (path) => ROUTES[path],
  corsRequestHeaders: REQUEST_HEADERS,
  corsResponseHeaders: RESPONSE_HEADERS,
  async handle(req, namespace, services) {
    try {
      const ref: UploadRef = { namespace, id: fileIdOf(req) };
      if (req.path === '/status') return await status(ref, services);
      if (req.path === PROGRESS_PATH) return await progress(ref, services);
      if (req.method === 'DELETE') return await remove(ref, services);
      return await post(req, ref, services);
    } catch (err) {
      return errorResponse(toServerError(err));
    }
  },
};

function fileIdOf(req: UploadRequest): string {
  const id = req.headers[H_FILE_ID.toLowerCase()];
  if (!isValidFileId(id)) throw new UploadServerError('BAD_FILE_ID');
  // The server's own names (tus, the IETF draft) are another id space: no client id may reach one.
  if (isServerNamed(id)) throw new UploadServerError('BAD_FILE_ID', `X-File-Id may not start with ${SERVER_NAMED}: those ids are the server's own`);
  return id;
}

/** A takeover point: answers what the upload holds once any older request on it has ended. */
async function status(ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  const lease = await services.takeOver(ref);
  try {
    return statusAnswer(await services.storage.status(ref));
  } finally {
    lease.release();
  }
}

/**
 * Not a takeover point: what the storage reports now (only durable bytes), while a POST on the
 * upload goes on, so a client sending the file in one long request sees what the server confirmed.
 */
async function progress(ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  return statusAnswer(await services.storage.status(ref));
}

function statusAnswer(st: UploadStatus | undefined): UploadResponse {
  // Unknown ids answer 0, as the classic client expects.
  return offsetResponse({ offset: st?.offset ?? 0, complete: st?.complete ?? false, size: st?.size });
}

async function remove(ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  const lease = await services.takeOver(ref);
  try {
    await services.storage.remove(ref);
    // Idempotent: removing what is not there is the same success.
    return emptyResponse(204);
  } finally {
    lease.release();
  }
}

interface PostHeaders {
  start: number;
  size: number | undefined;
  digest: Uint8Array | undefined;
  /** SHA-256 of the whole file, checked when this request completes the upload. */
  fileDigest: Uint8Array | undefined;
  name: string | undefined;
  contentLength: number | undefined;
  /** X-Upload-Complete: ?0: the upload is not completed by this request, even when it is whole. */
  deferred: boolean;
}

function parsePostHeaders(req: UploadRequest): PostHeaders {
  const h = req.headers;
  const start = parseByteCount(h[H_START_BYTE.toLowerCase()] ?? '');
  if (start === undefined) throw new UploadServerError('BAD_START_BYTE');
  const sizeRaw = h[H_FILE_SIZE.toLowerCase()];
  const size = sizeRaw === undefined ? undefined : parseByteCount(sizeRaw);
  if (sizeRaw !== undefined && size === undefined) throw new UploadServerError('BAD_FILE_SIZE');
  const digestRaw = h[H_CONTENT_DIGEST.toLowerCase()];
  const digest = digestRaw === undefined ? undefined : parseContentDigest(digestRaw);
  if (digestRaw !== undefined && digest === undefined) throw new UploadServerError('BAD_DIGEST');
  const fileDigestRaw = h[H_FILE_DIGEST.toLowerCase()];
  const fileDigest = fileDigestRaw === undefined ? undefined : parseFileDigest(fileDigestRaw);
  if (fileDigestRaw !== undefined && fileDigest === undefined) throw new UploadServerError('BAD_DIGEST', 'X-File-Digest must be :<base64 of 32 bytes>:');
  const completeRaw = h[H_UPLOAD_COMPLETE.toLowerCase()]?.trim();
  if (completeRaw !== undefined && completeRaw !== '?0' && completeRaw !== '?1') {
    throw new UploadServerError('BAD_REQUEST', `${H_UPLOAD_COMPLETE} must be ?0 (do not complete the upload yet) or ?1`);
  }
  const deferred = completeRaw === '?0';
  // The file digest is checked only by the request that completes: with ?0 it would go unchecked.
  if (deferred && fileDigest !== undefined) {
    throw new UploadServerError('BAD_REQUEST', `${H_FILE_DIGEST} goes with the request that completes the upload, not with ${H_UPLOAD_COMPLETE}: ?0`);
  }
  const nameRaw = h[H_FILE_NAME.toLowerCase()];
  const lengthRaw = h['content-length'];
  return {
    start,
    size,
    digest,
    fileDigest,
    name: nameRaw === undefined ? undefined : describeFile({ name: decodeHeaderText(nameRaw) }),
    contentLength: lengthRaw === undefined ? undefined : parseByteCount(lengthRaw),
    deferred,
  };
}

async function post(req: UploadRequest, ref: UploadRef, services: UploadServices): Promise<UploadResponse> {
  const p = parsePostHeaders(req);
  const lease = await services.takeOver(ref);
  let st: UploadStatus | undefined;
  let looked = false;
  try {
    // The previous writer has let go: only now is the stored offset stable.
    st = await services.storage.status(ref);
    looked = true;
    const held = st?.offset ?? 0;
    const complete = st?.complete ?? false;
    const at = (code: 'BUSY' | 'OFFSET_MISMATCH' | 'SIZE_MISMATCH' | 'ALREADY_COMPLETE') =>
      new UploadServerError(code, undefined, { offset: held, complete });
    // Taken over while waiting for the lock. Like every 409 it carries the offset held.
    if (lease.signal.aborted) throw at('BUSY');
    if (st?.size !== undefined && p.size !== undefined && p.size !== st.size) throw at('SIZE_MISMATCH');
    if (complete) {
      // The last, empty POST repeated is a success; bytes sent to a finished upload are not.
      const empty = p.start === held && (p.contentLength ?? 0) === 0 && !(await hasBytes(services.body(req, lease)));
      if (!empty) throw at('ALREADY_COMPLETE');
      return offsetResponse({ offset: held, complete: true, size: held });
    }
    if (p.start !== held) throw at('OFFSET_MISMATCH');
    const { fileDigest, deferred, ...append } = p;
    const { offset } = await services.append(ref, req, lease, { held: st, ...append, completing: !deferred });
    const size = st?.size ?? p.size;
    // Without a declared size, a body that arrived whole ends the upload (classic semantics). With
    // ?0 it stays open: a later POST at its size, with no body, completes it.
    if (!deferred && (size === undefined || offset === size)) {
      // The whole file, checked once: bytes that are not the file never complete. They are
      // removed, so the client's next status says 0 and it sends the file again.
      if (fileDigest !== undefined && !(await services.matchesDigest(ref, offset, fileDigest))) {
        await services.storage.remove(ref);
        throw new UploadServerError('FILE_DIGEST_MISMATCH', undefined, { offset: 0 });
      }
      await services.complete(ref);
      return offsetResponse({ offset, complete: true, size: offset });
    }
    return offsetResponse({ offset, complete: false, size });
  } catch (err) {
    const e = toServerError(err);
    // The spec's 409 body is the offset held (e.g. BUSY from a body read outside append()).
    const out = e.status === 409 && e.offset === undefined && looked ? e.withOffset(st?.offset ?? 0, st?.complete ?? false) : e;
    return errorResponse(out, st?.size ?? p.size);
  } finally {
    lease.release();
  }
}

async function hasBytes(body: AsyncIterable<Uint8Array>): Promise<boolean> {
  for await (const chunk of body) if (chunk.byteLength > 0) return true;
  return false;
}
