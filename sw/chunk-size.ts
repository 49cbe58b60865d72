// How big the next chunk is. Each POST costs a round trip (~12 ms in Chromium), so small chunks
// are slow; big chunks make progress jumpy and a cut wastes more. Aim for ~1.5 s per chunk.

export interface ChunkPolicy {
  readonly minBytes: number;
  readonly maxBytes: number;
  /**
   * The cap when chunks carry no digest: a Blob slice streams from disk (memory stays flat) and
   * the server keeps every byte of a cut body, so only the timeout and progress granularity bound it.
   */
  readonly maxBytesWithoutDigest: number;
  readonly initialBytes: number;
  /**
   * The first chunk when chunks carry no digest and no rate is known yet: a cut costs nothing
   * then, and a small first chunk only adds round trips and fsyncs while the size ramps up.
   * Not larger: until the first chunk is confirmed a row shows no server-confirmed progress.
   */
  readonly initialBytesWithoutDigest: number;
  /** Time one chunk should take. */
  readonly targetMs: number;
  /** Weight of the newest rate sample in the moving average (0..1]. */
  readonly smoothing: number;
  /** Sizes are rounded down to a multiple of this. */
  readonly granularity: number;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const DEFAULT_CHUNK_POLICY: ChunkPolicy = {
  minBytes: 256 * KiB,
  // Hashing a chunk holds it twice (our buffer, WebCrypto's copy): 32 MiB keeps a running
  // upload under 64 MiB of memory, and POSTs of 32 MiB already run near the link's speed.
  maxBytes: 32 * MiB,
  maxBytesWithoutDigest: 256 * MiB,
  initialBytes: 1 * MiB,
  initialBytesWithoutDigest: 4 * MiB,
  targetMs: 1_500,
  smoothing: 0.5,
  granularity: 64 * KiB,
};

/** The adaptive state of one upload. */
export interface ChunkState {
  readonly size: number;
  /** Smoothed rate in bytes/s, once measured. */
  readonly bytesPerSecond?: number;
}

export function initialChunkState(policy: ChunkPolicy = DEFAULT_CHUNK_POLICY): ChunkState {
  return { size: clampSize(policy.initialBytes, policy) };
}

/** After a chunk of `bytes` took `ms`: the new rate estimate and the next size. */
export function afterChunk(state: ChunkState, bytes: number, ms: number, policy: ChunkPolicy = DEFAULT_CHUNK_POLICY): ChunkState {
  if (bytes <= 0) return state;
  const sample = (bytes * 1000) / Math.max(ms, 1);
  const rate = state.bytesPerSecond === undefined ? sample : policy.smoothing * sample + (1 - policy.smoothing) * state.bytesPerSecond;
  // At most ×4 per step: one lucky fast chunk should not jump straight to the maximum.
  const wanted = Math.min((rate * policy.targetMs) / 1000, state.size * 4);
  return { size: clampSize(wanted, policy), bytesPerSecond: rate };
}

/**
 * The most a new upload's first request carries when it goes at byte 0 without asking first
 * (Transport.appendsFirst): a server that already holds bytes of that file id refuses it with a
 * 409 and must read (or cut) the refused body first.
 */
export const UNASKED_FIRST_CHUNK_MAX = 16 * MiB;

/** How long a rate measured on a link is trusted for the next upload's first chunk. */
export const LINK_RATE_TTL_MS = 30_000;

/**
 * Where a new upload starts when other uploads to the same server measured its rate moments ago:
 * the rate belongs to the link, not to one file, so each file need not ramp up from a small first
 * chunk again (20 files of 16 MiB would each pay an extra request and fsync). Not capped by the
 * digest's `maxBytes` here: the loop caps each chunk by the policy it runs with.
 */
export function startFromLinkRate(rate: number | undefined, policy: ChunkPolicy = DEFAULT_CHUNK_POLICY): ChunkState {
  if (rate === undefined) return initialChunkState(policy);
  const wanted = (rate * policy.targetMs) / 1000;
  return { size: clampSize(wanted, { ...policy, maxBytes: policy.maxBytesWithoutDigest }), bytesPerSecond: rate };
}

/**
 * The state a run without per-chunk digests starts from: at least `initialBytesWithoutDigest`
 * until a rate was measured (`policy` is the one without digests: its maxBytes caps it).
 */
export function startWithoutDigest(state: ChunkState, policy: ChunkPolicy = DEFAULT_CHUNK_POLICY): ChunkState {
  if (state.bytesPerSecond !== undefined) return state;
  return { size: clampSize(Math.max(state.size, policy.initialBytesWithoutDigest), policy) };
}

/**
 * Where the chunk starting at `offset` ends. A remainder under a quarter of the chunk joins it
 * (within maxBytes): a last request of a few bytes would cost a round trip and an fsync.
 */
export function chunkEnd(offset: number, fileSize: number, chunkSize: number, policy: ChunkPolicy = DEFAULT_CHUNK_POLICY): number {
  const end = Math.min(fileSize, offset + Math.min(chunkSize, policy.maxBytes));
  const rest = fileSize - end;
  if (rest > 0 && rest < chunkSize / 4 && fileSize - offset <= policy.maxBytes) return fileSize;
  return end;
}

/**
 * The policy appends run under once the server bounded them (the IETF draft's Upload-Limit): at
 * most its `max`, at least its `min` — a server's minimum outranks our own cap (it is the server's
 * cost to pay per append; we hold a bigger chunk), up to `maxBytesWithoutDigest`, the most one
 * request ever carries. Undefined when no append short of the end can satisfy them (a `min` above
 * the `max`, or above that ceiling).
 */
export function withServerLimits(policy: ChunkPolicy, limits: { readonly min?: number; readonly max?: number } | undefined): ChunkPolicy | undefined {
  if (limits === undefined) return policy;
  const { min, max } = limits;
  if (min !== undefined && min > Math.min(max ?? Infinity, policy.maxBytesWithoutDigest)) return undefined;
  const minBytes = Math.max(policy.minBytes, min ?? 0);
  const maxBytes = Math.max(Math.min(policy.maxBytes, max ?? Infinity), min ?? 0);
  return minBytes === policy.minBytes && maxBytes === policy.maxBytes ? policy : { ...policy, minBytes: Math.min(minBytes, maxBytes), maxBytes };
}

/** What a completing request holds back while the file digest it must carry is still being computed. */
export const DIGEST_WAIT_PIECE = 1 * MiB;

/**
 * Where a chunk ends when the request that completes the upload must carry the whole file's
 * digest (a header, so known before the body goes): while the digest is still being computed,
 * a chunk that would complete the file stops `DIGEST_WAIT_PIECE` short, so the bulk travels now
 * and only that last piece waits for the digest — unless the bulk would then be under the
 * server's `minAppend` (the piece that completes the upload may be smaller, the bulk may not).
 */
export function endBeforeDigest(start: number, end: number, fileSize: number, digestReady: boolean, minAppend = 0): number {
  if (digestReady || end < fileSize) return end;
  const held = fileSize - DIGEST_WAIT_PIECE;
  // The bulk does not complete the upload: it must carry at least what the server asks of such an append.
  return held > start && held - start >= minAppend ? held : end;
}

/** After a failed chunk: halve, so a flaky link wastes less on the next cut. */
export function afterFailure(state: ChunkState, policy: ChunkPolicy = DEFAULT_CHUNK_POLICY): ChunkState {
  return { ...state, size: clampSize(state.size / 2, policy) };
}

function clampSize(bytes: number, policy: ChunkPolicy): number {
  const step = Math.max(1, policy.granularity);
  const rounded = Math.floor(bytes / step) * step;
  return Math.min(policy.maxBytes, Math.max(policy.minBytes, rounded));
}
