// One upload's loop: ask the server what it holds, then send slices from there until done.
// Returns instead of throwing; the engine turns the outcome into a state.
import { UploadError } from '../src/protocol/index.js';
import { SliceHasher } from './digest.js';
import { afterChunk, afterFailure, type ChunkPolicy, type ChunkState } from './chunk-size.js';
import type { UploadRecord } from './record.js';
import { getStatus, uploadChunk, type TimeoutPolicy, type TransportOutcome, type TransportTarget } from './transport.js';

export type RunOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'transient'; readonly error: UploadError; readonly retryAfterMs?: number }
  | { readonly kind: 'permanent'; readonly error: UploadError }
  | { readonly kind: 'aborted' };

export interface RunContext {
  readonly fetch: typeof fetch;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly chunkPolicy: ChunkPolicy;
  /** Adaptive chunk state carried over from the previous run of this upload. */
  readonly chunk: ChunkState;
  readonly timeouts?: TimeoutPolicy;
  /** Send `Content-Digest` with every chunk (default on). */
  readonly digest: boolean;
  /** The server confirmed `offset` bytes; `chunk` carries the measured rate. */
  readonly onProgress: (offset: number, chunk: ChunkState) => void;
}

/** Non-advancing replies in a row before the loop gives up for now (a confused server). */
const MAX_STALLS = 5;

/** How the run ended, and the chunk state to carry into the next run. */
export interface RunResult {
  readonly outcome: RunOutcome;
  readonly chunk: ChunkState;
}

export async function runUpload(upload: UploadRecord, blob: Blob, ctx: RunContext): Promise<RunResult> {
  let chunk = ctx.chunk;
  if (blob.size !== upload.size) {
    const error = new UploadError('STORAGE', `The stored file has ${blob.size} bytes, expected ${upload.size}`);
    return { outcome: { kind: 'permanent', error }, chunk };
  }
  const target: TransportTarget = {
    fetch: ctx.fetch,
    endpoint: upload.endpoint,
    fileId: upload.fileId,
    headers: upload.headers,
    signal: ctx.signal,
    ...(ctx.timeouts === undefined ? {} : { timeouts: ctx.timeouts }),
  };
  let lastOffset = -1;
  let ahead: Slice | undefined;
  const hasher = new SliceHasher();
  let stalls = 0;
  // The server is the truth: the stored offset is only a hint (a POST may have landed unseen).
  let reply = await getStatus(target);
  for (;;) {
    if (ctx.signal.aborted || reply.kind === 'aborted') return { outcome: { kind: 'aborted' }, chunk };
    if (reply.kind === 'permanent') return { outcome: reply, chunk };
    // Smaller chunks after a failure: a flaky link wastes less on the next cut.
    if (reply.kind === 'transient') return { outcome: reply, chunk: afterFailure(chunk, ctx.chunkPolicy) };
    if (reply.offset === undefined) {
      reply = await getStatus(target); // a 409 that did not say where the server is
      continue;
    }
    const offset = reply.offset;
    ctx.onProgress(offset, chunk);
    if (reply.complete) return { outcome: { kind: 'done' }, chunk };
    if (offset > upload.size) {
      const error = new UploadError('REJECTED', `The server holds ${offset} bytes of a ${upload.size}-byte file`);
      return { outcome: { kind: 'permanent', error }, chunk };
    }
    stalls = offset > lastOffset ? 0 : stalls + 1;
    lastOffset = offset;
    if (stalls >= MAX_STALLS) {
      const error = new UploadError('SERVER', `The server stays at byte ${offset} of ${upload.size}`);
      return { outcome: { kind: 'transient', error }, chunk };
    }
    // A slice hashed ahead is used when the server is where we expected; otherwise it is
    // dropped once its hashing ends (the hasher's one buffer serves one slice at a time).
    if (ahead !== undefined && ahead.start !== offset) await ahead.digest?.catch(() => undefined);
    const slice = ahead?.start === offset ? ahead : prepare(hasher, blob, offset, Math.min(upload.size, offset + chunk.size), ctx.digest);
    let digest: string | undefined;
    try {
      digest = await slice.digest;
    } catch (error) {
      return { outcome: { kind: 'permanent', error: error as UploadError }, chunk };
    }
    // Hash the next slice while this one travels: the digest costs no wall time on a fast link.
    ahead = ctx.digest && slice.end < upload.size ? prepare(hasher, blob, slice.end, Math.min(upload.size, slice.end + chunk.size), true) : undefined;
    const sent = await sendSlice(target, upload, blob, slice, digest, chunk, ctx);
    if (sent.outcome.kind === 'ok') chunk = afterChunk(chunk, sent.bytes, sent.ms, ctx.chunkPolicy);
    reply = sent.outcome;
  }
}

/** A slice of the file and, when digests are on, its digest (being) computed. */
interface Slice {
  readonly start: number;
  readonly end: number;
  readonly digest: Promise<string> | undefined;
}

function prepare(hasher: SliceHasher, blob: Blob, start: number, end: number, digest: boolean): Slice {
  const pending = digest ? hasher.digest(blob.slice(start, end)) : undefined;
  // A look-ahead that ends up unused must not surface as an unhandled rejection.
  pending?.catch(() => undefined);
  return { start, end, digest: pending };
}

interface Sent {
  readonly outcome: TransportOutcome;
  readonly bytes: number;
  readonly ms: number;
}

async function sendSlice(
  target: TransportTarget,
  upload: UploadRecord,
  blob: Blob,
  slice: Slice,
  digest: string | undefined,
  chunk: ChunkState,
  ctx: RunContext,
): Promise<Sent> {
  const started = ctx.now();
  const outcome = await uploadChunk(target, {
    start: slice.start,
    fileSize: upload.size,
    // A Blob slice, streamed from disk by the browser: memory stays flat in the file size.
    body: blob.slice(slice.start, slice.end),
    fileName: upload.name,
    ...(digest === undefined ? {} : { digest }),
    ...(chunk.bytesPerSecond === undefined ? {} : { bytesPerSecond: chunk.bytesPerSecond }),
  });
  return { outcome, bytes: slice.end - slice.start, ms: ctx.now() - started };
}
