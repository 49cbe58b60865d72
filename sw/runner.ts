// One upload's loop: ask the server what it holds, then send slices from there until done.
// Returns instead of throwing; the engine turns the outcome into a state.
import { UploadError, contentDigestOf } from '../src/protocol/index.js';
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
    const sent = await sendSlice(target, upload, blob, offset, chunk, ctx);
    if (sent.outcome.kind === 'ok') chunk = afterChunk(chunk, sent.bytes, sent.ms, ctx.chunkPolicy);
    reply = sent.outcome;
  }
}

interface Sent {
  readonly outcome: TransportOutcome;
  readonly bytes: number;
  readonly ms: number;
}

async function sendSlice(target: TransportTarget, upload: UploadRecord, blob: Blob, offset: number, chunk: ChunkState, ctx: RunContext): Promise<Sent> {
  const end = Math.min(upload.size, offset + chunk.size);
  const body = blob.slice(offset, end);
  let digest: string | undefined;
  if (ctx.digest) {
    try {
      // Only this slice is in memory, and only while it is hashed: memory stays bounded by the
      // chunk size. The body itself is the Blob slice, which the browser streams from disk.
      digest = await contentDigestOf(await body.arrayBuffer());
    } catch (cause) {
      const error = new UploadError('STORAGE', 'The stored file could not be read', { cause });
      return { outcome: { kind: 'permanent', error }, bytes: 0, ms: 0 };
    }
  }
  const started = ctx.now();
  const outcome = await uploadChunk(target, {
    start: offset,
    fileSize: upload.size,
    body,
    fileName: upload.name,
    ...(digest === undefined ? {} : { digest }),
    ...(chunk.bytesPerSecond === undefined ? {} : { bytesPerSecond: chunk.bytesPerSecond }),
  });
  return { outcome, bytes: end - offset, ms: ctx.now() - started };
}
