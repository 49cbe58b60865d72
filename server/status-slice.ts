// The status/slice protocol (the classic resumable-upload article, extended with X-File-Size,
// Content-Digest and DELETE). Works on request/response values over an UploadStorage; knows
// nothing of sockets or of the disk.
import {
  H_CONTENT_DIGEST,
  H_FILE_ID,
  H_FILE_NAME,
  H_FILE_SIZE,
  H_START_BYTE,
  isValidFileId,
  parseByteCount,
  parseContentDigest,
} from '../src/protocol/wire.js';
import { decodeHeaderText } from '../src/protocol/file-id.js';
import { UploadServerError, toServerError } from './errors.js';
import { guardBody } from './body.js';
import type { UploadLocks } from './locks.js';
import { emptyResponse, errorResponse, offsetResponse } from './responses.js';
import { storageKey, type CompletedUpload, type UploadRef, type UploadStorage } from './storage.js';
import type { UploadRequest, UploadResponse } from './types.js';

export interface StatusSliceContext {
  readonly storage: UploadStorage;
  readonly locks: UploadLocks;
  readonly maxUploadSize: number;
  readonly idleTimeoutMs: number;
  readonly onComplete?: ((info: CompletedUpload) => void | Promise<void>) | undefined;
  /** Takes work that runs after the reply (the onComplete hook), so close() can wait for it. */
  readonly background: (work: Promise<void>) => void;
}

export const STATUS_SLICE_ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/status': ['GET', 'HEAD'],
  '/upload': ['POST', 'DELETE'],
};

export async function handleStatusSlice(req: UploadRequest, namespace: string, ctx: StatusSliceContext): Promise<UploadResponse> {
  try {
    const ref: UploadRef = { namespace, id: fileIdOf(req) };
    if (req.path === '/status') return await status(ref, ctx);
    if (req.method === 'DELETE') return await remove(ref, ctx);
    return await post(req, ref, ctx);
  } catch (err) {
    return errorResponse(toServerError(err));
  }
}

function fileIdOf(req: UploadRequest): string {
  const id = req.headers[H_FILE_ID.toLowerCase()];
  if (!isValidFileId(id)) throw new UploadServerError('BAD_FILE_ID');
  return id;
}

async function status(ref: UploadRef, ctx: StatusSliceContext): Promise<UploadResponse> {
  const st = await ctx.storage.status(ref);
  // Unknown ids answer 0, as the classic client expects.
  return offsetResponse({ offset: st?.offset ?? 0, complete: st?.complete ?? false, size: st?.size });
}

async function remove(ref: UploadRef, ctx: StatusSliceContext): Promise<UploadResponse> {
  const lease = await ctx.locks.acquire(storageKey(ref));
  try {
    await ctx.storage.remove(ref);
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
  name: string | undefined;
  contentLength: number | undefined;
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
  const nameRaw = h[H_FILE_NAME.toLowerCase()];
  const lengthRaw = h['content-length'];
  return {
    start,
    size,
    digest,
    name: nameRaw === undefined ? undefined : decodeHeaderText(nameRaw),
    contentLength: lengthRaw === undefined ? undefined : parseByteCount(lengthRaw),
  };
}

async function post(req: UploadRequest, ref: UploadRef, ctx: StatusSliceContext): Promise<UploadResponse> {
  const p = parsePostHeaders(req);
  const lease = await ctx.locks.acquire(storageKey(ref));
  let knownSize: number | undefined = p.size;
  let known: { offset: number; complete: boolean } | undefined;
  try {
    // The previous writer has released: only now is the stored offset stable.
    const st = await ctx.storage.status(ref);
    const held = st?.offset ?? 0;
    knownSize = st?.size ?? p.size;
    known = { offset: held, complete: st?.complete ?? false };
    const at = (code: 'BUSY' | 'OFFSET_MISMATCH' | 'SIZE_MISMATCH' | 'TOO_LARGE' | 'ALREADY_COMPLETE') =>
      new UploadServerError(code, undefined, { offset: held, complete: st?.complete ?? false });
    // Taken over while waiting for the lock. Like every 409 it carries the offset held.
    if (lease.signal.aborted) throw at('BUSY');
    if (st?.size !== undefined && p.size !== undefined && p.size !== st.size) throw at('SIZE_MISMATCH');
    if (p.start !== held) throw at('OFFSET_MISMATCH');
    if (p.size !== undefined && p.size > ctx.maxUploadSize) throw at('TOO_LARGE');
    const signal = AbortSignal.any([req.signal, lease.signal]);
    const body = guardBody(req.body, signal, ctx.idleTimeoutMs);
    if (st?.complete) {
      // Re-sending the last empty POST of a finished upload is a success; more bytes are not.
      if ((p.contentLength ?? 0) > 0 || (await hasBytes(body))) throw at('ALREADY_COMPLETE');
      return offsetResponse({ offset: held, complete: true, size: held });
    }
    const limit = Math.min(knownSize ?? Number.POSITIVE_INFINITY, ctx.maxUploadSize);
    if (p.start + (p.contentLength ?? 0) > limit) throw at('TOO_LARGE');
    const { offset } = await ctx.storage.append(ref, body, {
      start: p.start,
      maxBytes: limit - p.start,
      ...(p.size === undefined ? {} : { size: p.size }),
      ...(p.name === undefined ? {} : { name: p.name }),
      ...(p.digest === undefined ? {} : { digest: p.digest }),
    });
    // Without a declared size, a body that arrived whole ends the upload (classic semantics).
    const complete = knownSize === undefined || offset === knownSize;
    if (complete) {
      const done = await ctx.storage.complete(ref);
      // After the reply and outside the lock: a slow hook must not hold back the client's last 200.
      ctx.background(new Promise<void>((resolve) => setImmediate(resolve)).then(() => notify(ctx, done)));
      return offsetResponse({ offset, complete: true, size: offset });
    }
    return offsetResponse({ offset, complete: false, size: knownSize });
  } catch (err) {
    const e = toServerError(err);
    // The spec's 409 body is the offset held (e.g. BUSY from a body read outside append()).
    const out = e.status === 409 && e.offset === undefined && known ? e.withOffset(known.offset, known.complete) : e;
    return errorResponse(out, knownSize);
  } finally {
    lease.release();
  }
}

async function hasBytes(body: AsyncIterable<Uint8Array>): Promise<boolean> {
  for await (const chunk of body) if (chunk.byteLength > 0) return true;
  return false;
}

async function notify(ctx: StatusSliceContext, done: CompletedUpload): Promise<void> {
  try {
    await ctx.onComplete?.(done);
  } catch (err) {
    // The file is safely stored either way; failing the request would only make the client retry.
    console.error('resilient-upload: onComplete failed', err);
  }
}
