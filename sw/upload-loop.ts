// One upload's loop: ask the server what it holds, then send slices from there until done.
// Talks to the server only through the Transport port and to time only through the Clock.
// Returns instead of throwing; the dispatcher turns the outcome into a state.
import { UploadError, toUploadError } from '../src/protocol/index.js';
import { UNASKED_FIRST_CHUNK_MAX, afterChunk, afterFailure as smallerChunk, chunkEnd, endBeforeDigest, startWithoutDigest, withServerLimits, type ChunkPolicy, type ChunkState } from './chunk-size.js';
import { abortOf, deadline, sleep, stallWatch, type Clock } from './clock.js';
import { askHeaders } from './headers-hook.js';
import type { UploadRecord } from './record.js';
import type { SliceHasher } from './slice-hasher.js';
import type { StoredFile } from './stored-file.js';
import type { ProgressOutcome, RequestContext, Transport, TransportOutcome } from './transport/port.js';
import { requestTimeoutMs, type TimeoutPolicy } from './transport/timeouts.js';

export type RunOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly error: UploadError; readonly retryAfterMs?: number }
  | { readonly kind: 'aborted' };

export interface LoopContext {
  readonly transport: Transport;
  readonly clock: Clock;
  /** Aborted by the engine on pause or cancel. */
  readonly signal: AbortSignal;
  /** Headers for the next request (called before each one: a token may have been refreshed). */
  readonly headers: () => Promise<Readonly<Record<string, string>>>;
  readonly timeouts: TimeoutPolicy;
  readonly chunkPolicy: ChunkPolicy;
  /** No request was ever made for this upload (added in this worker, first run). */
  readonly untouched: boolean;
  /** Adaptive chunk state carried over from the previous run of this upload. */
  readonly chunk: ChunkState;
  /** Hashes each slice for the server to check; undefined when chunks carry no digest. */
  readonly hasher: SliceHasher | undefined;
  /** The whole file's digest for the append that completes the upload; undefined when not sent. */
  readonly fileDigest: (() => Promise<string>) | undefined;
  /** The server confirmed `offset` bytes; `chunk` carries the measured rate. */
  readonly onProgress: (offset: number, chunk: ChunkState) => void;
  /** A chunk was timed: the link's rate as measured now (bytes/s). */
  readonly onMeasured?: (bytesPerSecond: number) => void;
  /** `sent` bytes of the file are on their way (where the HTTP client can tell). */
  readonly onSent: (sent: number) => void;
  /** The transport asked to keep this (e.g. a new upload URL). */
  readonly onRemote: (remote: Readonly<Record<string, string>>) => void;
}

/** Non-advancing replies in a row before the loop gives up for now (a confused server). */
const MAX_STALLS = 5;

/** How the run ended, and the chunk state to carry into the next run. */
export interface LoopResult {
  readonly outcome: RunOutcome;
  readonly chunk: ChunkState;
}

export async function runUpload(record: UploadRecord, file: StoredFile, ctx: LoopContext): Promise<LoopResult> {
  let upload = record;
  // Without digests a chunk is a streamed Blob slice and a cut keeps what arrived: bigger chunks cost nothing.
  const policy: ChunkPolicy = ctx.hasher === undefined ? { ...ctx.chunkPolicy, maxBytes: ctx.chunkPolicy.maxBytesWithoutDigest } : ctx.chunkPolicy;
  let chunk = ctx.hasher === undefined ? startWithoutDigest(ctx.chunk, policy) : ctx.chunk;
  const end = (outcome: RunOutcome): LoopResult => ({ outcome, chunk });
  if (file.size !== record.size) {
    return end({ kind: 'failed', error: new UploadError('STORAGE', `The stored file has ${file.size} bytes, expected ${record.size}`) });
  }
  const ask = async (
    call: (c: RequestContext) => Promise<TransportOutcome>,
    bodyBytes: number,
    onSent?: (bytes: number) => void,
    watch?: ProgressWatch,
  ): Promise<TransportOutcome> => {
    // A streamed request's deadline by size does not trust a rate measured earlier: the rest of the
    // file at a quarter of it is long past a link that slowed down, while the polls show it moving.
    const rated = watch === undefined ? chunk : { size: chunk.size };
    const reply = await request({ ...ctx, signal: watch?.signal ?? ctx.signal }, rated, call, bodyBytes, onSent);
    if (reply.kind === 'offset' && reply.remote !== undefined) {
      upload = { ...upload, remote: reply.remote };
      ctx.onRemote(reply.remote);
    }
    return reply;
  };
  let lastOffset = -1;
  let stalls = 0;
  let ahead: Slice | undefined;
  // The file digest is being computed since the run began; until it is known, the completing
  // request holds back a last piece so the bulk need not wait for it.
  let digestReady = ctx.fileDigest === undefined;
  ctx.fileDigest?.().then(
    () => (digestReady = true),
    () => undefined, // a read error surfaces where the digest is awaited
  );
  // The server is the truth: the stored offset is only a hint (a POST may have landed unseen).
  // Only an upload no request was ever made for may start at 0 unasked, where an append at the
  // wrong offset is answered with the server's (e.g. the same file sent before from elsewhere).
  let unasked = ctx.untouched && ctx.transport.appendsFirst?.(upload) === true;
  // Streamed: where chunks carry no digest and the server shows what it made durable of a request
  // in flight, one request carries the rest of the file (fewer round trips and fsyncs; a page sends
  // the picked File itself) and its confirmed progress comes from polling. A server not known yet
  // is asked once; so is one that holds this untouched upload maybe, before a body too big to waste.
  let streamed = false;
  let unaskedMax = UNASKED_FIRST_CHUNK_MAX;
  if (ctx.hasher === undefined && ctx.transport.progress !== undefined) {
    let known = ctx.transport.streams?.(upload);
    if (known === undefined || (known && unasked && record.size > UNASKED_FIRST_CHUNK_MAX)) {
      const seen = await request(ctx, chunk, (c) => ctx.transport.progress!(upload, c), 0, undefined);
      if (seen.kind === 'aborted' || ctx.signal.aborted) return end({ kind: 'aborted' });
      if (seen.kind === 'offset') {
        known = true;
        // The server holds nothing of it: the whole file may go unasked. Else it is asked as usual.
        if (seen.offset === 0 && !seen.complete) unaskedMax = Infinity;
        else unasked = false;
      } else if (seen.kind === 'unsupported') {
        known = false;
      } else {
        // No answer: a server known to stream still does (ask the status before a big body); one
        // not known yet gets chunks this run.
        if (known === true) unasked = false;
        else known = false;
      }
    }
    streamed = known === true;
  }
  let reply: TransportOutcome = unasked ? { kind: 'offset', offset: 0, complete: false } : await ask((c) => ctx.transport.status(upload, c), 0);
  for (;;) {
    if (ctx.signal.aborted || reply.kind === 'aborted') return end({ kind: 'aborted' });
    if (reply.kind === 'failed') {
      // Smaller chunks after a failure: a flaky link wastes less on the next cut.
      chunk = smallerChunk(chunk, policy);
      return end(reply);
    }
    stalls = reply.offset !== undefined && reply.offset > lastOffset ? 0 : stalls + 1;
    if (stalls >= MAX_STALLS) {
      return end({ kind: 'failed', error: new UploadError('SERVER', `The server stays at byte ${lastOffset} of ${record.size}`) });
    }
    if (reply.offset === undefined) {
      reply = await ask((c) => ctx.transport.status(upload, c), 0); // a 409 that did not say where the server is
      continue;
    }
    const offset = reply.offset;
    lastOffset = offset;
    ctx.onProgress(offset, chunk);
    if (reply.complete) return end({ kind: 'done' });
    if (offset > record.size) {
      return end({ kind: 'failed', error: new UploadError('REJECTED', `The server holds ${offset} bytes of a ${record.size}-byte file`) });
    }
    // What one append may carry: the policy's bounds, within what the server said (IETF Upload-Limit).
    const bounds = ctx.transport.appendLimits?.(upload);
    const limits = withServerLimits(policy, bounds);
    const rest = record.size - offset;
    if (limits === undefined && rest > Math.min(bounds?.max ?? Infinity, policy.maxBytesWithoutDigest)) {
      const min = bounds?.min ?? 0;
      const why =
        bounds?.max !== undefined && min > bounds.max
          ? `at least ${min} and at most ${bounds.max} bytes (Upload-Limit): no append short of the end can`
          : `at least ${min} bytes (Upload-Limit min-append-size), more than the ${policy.maxBytesWithoutDigest} this worker puts in one request`;
      return end({ kind: 'failed', error: new UploadError('REJECTED', `The server wants each append to carry ${why}`) });
    }
    const within = limits ?? { ...policy, minBytes: rest, maxBytes: rest }; // the rest in one completing append
    // A slice prepared ahead is used when the server is where we expected and the server's bounds
    // (they may have changed) still take it; otherwise it is dropped once its hashing ends (the
    // hasher's one buffer serves one slice at a time).
    const fits = (s: Slice): boolean => {
      if (s.start !== offset) return false;
      const bytes = s.end - s.start;
      // The append that completes the upload may be smaller than the bounds, never larger than the server's max.
      return s.end === record.size ? bytes <= (bounds?.max ?? Infinity) : bytes >= within.minBytes && bytes <= within.maxBytes;
    };
    if (ahead !== undefined && !fits(ahead)) {
      await ahead.ready.catch(() => undefined);
      ahead = undefined;
    }
    // The unasked first request stays small: a server holding this file id refuses its body.
    const wanted = streamed ? rest : chunk.size;
    const size = Math.max(unasked ? Math.min(wanted, unaskedMax) : wanted, within.minBytes);
    unasked = false;
    // Streamed, a body that makes the file whole goes without the digest still being computed,
    // asking the server not to complete yet; a body-less append carries the digest after it.
    const ends = chunkEnd(offset, record.size, size, within);
    const completeLater = streamed && !digestReady && ends === record.size && offset < record.size;
    const slice =
      ahead !== undefined ? ahead : prepare(file, offset, completeLater ? ends : endBeforeDigest(offset, ends, record.size, digestReady, bounds?.min), ctx.hasher);
    ahead = undefined;
    let ready: Ready;
    try {
      ready = await slice.ready;
    } catch (error) {
      return end({ kind: 'failed', error: toUploadError(error, 'The stored file could not be read') });
    }
    // Hash the next slice while this one travels: the digest costs no wall time on a fast link.
    if (ctx.hasher !== undefined && slice.end < record.size) {
      ahead = prepare(file, slice.end, chunkEnd(slice.end, record.size, Math.max(chunk.size, within.minBytes), within), ctx.hasher);
    }
    let whole: string | undefined;
    if (ctx.fileDigest !== undefined && slice.end === record.size && !completeLater) {
      try {
        // Computed since the run began: usually ready by now. A pause or cancel does not wait for it.
        const digest = await Promise.race([ctx.fileDigest(), abortOf(ctx.signal)]);
        if (digest === undefined) return end({ kind: 'aborted' });
        whole = digest;
      } catch (error) {
        return end({ kind: 'failed', error: toUploadError(error, 'The stored file could not be read') });
      }
    }
    const started = ctx.clock.now();
    const bytes = slice.end - slice.start;
    const body = {
      start: slice.start,
      body: ready.body,
      ...(ready.sha256 === undefined ? {} : { sha256: ready.sha256 }),
      ...(whole === undefined ? {} : { fileDigest: whole }),
      ...(completeLater ? { completeLater } : {}),
    };
    const watch = streamed && bytes > 0 ? watchProgress(ctx, upload, chunk, slice, (confirmed) => ctx.onProgress(confirmed, chunk)) : undefined;
    try {
      reply = await ask((c) => ctx.transport.append(upload, body, c), bytes, (n) => ctx.onSent(slice.start + n), watch);
    } finally {
      watch?.stop();
    }
    if (watch?.stalledMs !== undefined && reply.kind === 'aborted' && !ctx.signal.aborted) {
      const s = Math.round(watch.stalledMs / 1000);
      reply = { kind: 'failed', error: new UploadError('TIMEOUT', `Timed out: the server answers, but its confirmed bytes stood still for ${s} s`) };
    }
    if (watch?.quiet === true && bytes >= QUIET_BODY_BYTES && reply.kind === 'offset' && reply.offset >= slice.end) ctx.transport.unstreamed?.(upload);
    if (reply.kind === 'offset') {
      chunk = afterChunk(chunk, bytes, ctx.clock.now() - started, policy);
      if (chunk.bytesPerSecond !== undefined) ctx.onMeasured?.(chunk.bytesPerSecond);
    }
  }
}

/** One request under a deadline scaled to its body; a deadline that passes is a TIMEOUT. */
async function request<T extends ProgressOutcome>(
  ctx: LoopContext,
  chunk: ChunkState,
  call: (c: RequestContext) => Promise<T>,
  bodyBytes: number,
  onSent: ((bytes: number) => void) | undefined,
): Promise<T | Extract<TransportOutcome, { kind: 'failed' | 'aborted' }>> {
  let headers: Readonly<Record<string, string>>;
  try {
    // Under the loop's signal: a pause or cancel waits for the run to end, never for the hook.
    const got = await askHeaders(ctx.headers, ctx.clock, ctx.timeouts.baseMs, ctx.signal);
    if (got === undefined) return { kind: 'aborted' };
    headers = got;
  } catch (error) {
    return { kind: 'failed', error: toUploadError(error, 'The headers hook failed') };
  }
  const ms = requestTimeoutMs(bodyBytes, ctx.timeouts, chunk.bytesPerSecond);
  const limit = deadline(ctx.clock, ms, ctx.signal);
  // Where the bytes sent are reported, a body that stops moving for baseMs has stalled: the
  // deadline by size is long for a big body (without a measured rate, over an hour for a whole
  // 256 MiB file) and must not be what notices a server that stopped reading.
  const stall = onSent === undefined || bodyBytes === 0 ? undefined : stallWatch(ctx.clock, ctx.timeouts.baseMs, limit.signal);
  const sent = onSent === undefined ? undefined : (bytes: number): void => {
    stall?.moved(bytes, bodyBytes);
    onSent(bytes);
  };
  try {
    const reply = await call({ signal: stall?.signal ?? limit.signal, headers, ...(sent === undefined ? {} : { onSent: sent }) });
    if ((limit.expired || stall?.expired === true) && (reply.kind === 'aborted' || reply.kind === 'failed')) {
      const error = limit.expired
        ? new UploadError('TIMEOUT', `Timed out: the server did not answer within ${Math.round(ms / 1000)} s`)
        : new UploadError('TIMEOUT', `Timed out: no byte of the request went out for ${Math.round(ctx.timeouts.baseMs / 1000)} s`);
      return { kind: 'failed', error };
    }
    return reply;
  } finally {
    stall?.dispose();
    limit.dispose();
  }
}

/** How often a streamed request's confirmed progress is asked for. */
export const PROGRESS_POLL_MS = 500;

/**
 * The coarsest step in which a server's confirmed bytes move while a body streams in, unless a
 * bigger one was seen (an S3 part is 8 MiB by default; the disk store writes in 1 MiB batches).
 */
export const PROGRESS_STEP_BYTES = 16 * 1024 * 1024;

/**
 * A streamed body at least this big whose confirmed bytes never moved while it went, though the
 * server then held it whole, went through something that holds bodies back (see Transport.unstreamed):
 * a server that shows progress would have confirmed several of its steps on the way.
 */
export const QUIET_BODY_BYTES = 2 * PROGRESS_STEP_BYTES;

/** Polls answered, none advancing, before a streamed request counts as quiet. */
const QUIET_POLLS = 4;

/** A streamed request's progress polling (see watchProgress). */
interface ProgressWatch {
  /** The request's signal: the run's, or aborted by the watch when the request stalled. */
  readonly signal: AbortSignal;
  /** Set when the watch aborted the request: how long the confirmed bytes had stood still. */
  readonly stalledMs: number | undefined;
  /** Polls were answered, and none ever saw the confirmed bytes move. */
  readonly quiet: boolean;
  stop(): void;
}

/**
 * Asks the server every PROGRESS_POLL_MS what it made durable of the request in flight (`range`),
 * and reports each advance; one question at a time, none reported once stopped (the request's own
 * answer then speaks). Failures only skip a report; a server that turns out to have no such thing
 * is not asked again. Once the confirmed bytes have moved, a server that answers but confirms
 * nothing more for the stall time (twice the biggest step seen, at least PROGRESS_STEP_BYTES, at
 * the slowest tolerated rate, plus the base time) has stopped taking the body — a connection gone
 * half-open, which a worker's fetch, reporting no bytes sent, cannot tell otherwise before its
 * deadline by size: the request is aborted. Not before they first move (a proxy may hold the body
 * back until its end), nor once the whole body is confirmed (the server then completes it).
 */
function watchProgress(ctx: LoopContext, upload: UploadRecord, chunk: ChunkState, range: { start: number; end: number }, report: (offset: number) => void): ProgressWatch {
  const carried = new AbortController();
  const stopped = new AbortController();
  const onAbort = (): void => {
    carried.abort(ctx.signal.reason);
    stopped.abort();
  };
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  let stalledMs: number | undefined;
  let answered = 0;
  /** When the confirmed bytes last moved; undefined until they first do. */
  let movedAt: number | undefined;
  const poll = async (): Promise<void> => {
    let confirmed = range.start;
    let step = PROGRESS_STEP_BYTES / 2;
    for (;;) {
      await sleep(ctx.clock, PROGRESS_POLL_MS, stopped.signal);
      if (stopped.signal.aborted) return;
      const seen = await request({ ...ctx, signal: stopped.signal }, chunk, (c) => ctx.transport.progress!(upload, c), 0, undefined);
      if (stopped.signal.aborted || seen.kind === 'unsupported') return;
      if (seen.kind !== 'offset') continue;
      answered++;
      const now = ctx.clock.now();
      if (seen.offset > confirmed) {
        step = Math.max(step, seen.offset - confirmed);
        confirmed = seen.offset;
        movedAt = now;
        report(confirmed);
        if (confirmed >= range.end) return;
      } else if (movedAt !== undefined && now - movedAt >= requestTimeoutMs(2 * step, ctx.timeouts, chunk.bytesPerSecond)) {
        stalledMs = now - movedAt;
        carried.abort();
        return;
      }
    }
  };
  void poll();
  return {
    signal: carried.signal,
    get stalledMs() {
      return stalledMs;
    },
    get quiet() {
      return movedAt === undefined && answered >= QUIET_POLLS;
    },
    stop() {
      stopped.abort();
      ctx.signal.removeEventListener('abort', onAbort);
    },
  };
}

/** A slice of the file: its bytes read and, when digests are on, their SHA-256 (being) computed. */
interface Slice {
  readonly start: number;
  readonly end: number;
  readonly ready: Promise<Ready>;
}

interface Ready {
  readonly body: Blob;
  readonly sha256: string | undefined;
}

function prepare(file: StoredFile, start: number, end: number, hasher: SliceHasher | undefined): Slice {
  const ready = file.slice(start, end).then(async (body) => ({ body, sha256: hasher === undefined ? undefined : await hasher.sha256(body) }));
  // A look-ahead that ends up unused must not surface as an unhandled rejection.
  ready.catch(() => undefined);
  return { start, end, ready };
}
