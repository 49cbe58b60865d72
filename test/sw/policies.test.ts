import { describe, expect, it } from 'vitest';
import { RECOVERY, UploadError, type UploadErrorCode, type UploadState } from '../../src/protocol/index.js';
import { DEFAULT_CHUNK_POLICY, KiB, MiB, afterChunk, afterFailure, chunkEnd, endBeforeDigest, initialChunkState, startFromLinkRate, startWithoutDigest, withServerLimits, type ChunkState } from '../../sw/chunk-size.js';
import { ProgressThrottle } from '../../sw/progress-throttle.js';
import { DEFAULT_RETRY_POLICY, afterFailure as afterRunFailure, retryDelay } from '../../sw/retry.js';
import { isDue, nextWakeAt, pickNext, type Schedulable } from '../../sw/schedule.js';
import { nextState, transition, type UploadAction } from '../../sw/transitions.js';
import { DEFAULT_TIMEOUT_POLICY, requestTimeoutMs } from '../../sw/transport/timeouts.js';

const up = (id: string, state: UploadState, createdAt: number, retryAt?: number, code?: UploadErrorCode): Schedulable => ({
  id,
  state,
  createdAt,
  ...(retryAt === undefined ? {} : { retryAt }),
  ...(code === undefined ? {} : { error: { code, message: code } }),
});

describe('scheduler: which uploads start next', () => {
  const now = 1_000;
  it.each([
    { name: 'oldest queued first', uploads: [up('b', 'queued', 2), up('a', 'queued', 1)], running: [], concurrency: 1, want: ['a'] },
    { name: 'fills free slots only', uploads: [up('a', 'queued', 1), up('b', 'queued', 2), up('c', 'queued', 3)], running: ['x', 'y'], concurrency: 3, want: ['a'] },
    { name: 'no free slot', uploads: [up('a', 'queued', 1)], running: ['x', 'y', 'z'], concurrency: 3, want: [] },
    { name: 'waiting not yet due is skipped', uploads: [up('a', 'waiting', 1, now + 1), up('b', 'queued', 2)], running: [], concurrency: 3, want: ['b'] },
    { name: 'waiting due now starts', uploads: [up('a', 'waiting', 1, now), up('b', 'waiting', 2, now - 5)], running: [], concurrency: 3, want: ['a', 'b'] },
    { name: 'paused, failed, done, cancelled never start', uploads: ['paused', 'failed', 'done', 'cancelled'].map((s, i) => up(`u${i}`, s as UploadState, i)), running: [], concurrency: 3, want: [] },
    { name: 'a running upload is not started twice', uploads: [up('a', 'queued', 1)], running: ['a'], concurrency: 3, want: [] },
    { name: 'uploading is not started', uploads: [up('a', 'uploading', 1)], running: [], concurrency: 3, want: [] },
    { name: 'concurrency caps a big queue', uploads: Array.from({ length: 9 }, (_, i) => up(`u${i}`, 'queued', 9 - i)), running: [], concurrency: 3, want: ['u8', 'u7', 'u6'] },
  ])('$name', ({ uploads, running, concurrency, want }) => {
    expect(pickNext(uploads, { now, concurrency, running: new Set(running) })).toEqual(want);
  });

  it.each([
    { uploads: [], want: undefined },
    { uploads: [up('a', 'waiting', 1, 5_000), up('b', 'waiting', 2, 3_000)], want: 3_000 },
    { uploads: [up('a', 'waiting', 1, 500)], want: undefined }, // already due: not a future wake
    { uploads: [up('a', 'paused', 1, 5_000)], want: undefined },
  ])('next wake of $uploads.length uploads is $want', ({ uploads, want }) => {
    expect(nextWakeAt(uploads, now)).toBe(want);
  });

  it('a waiting upload without retryAt is due', () => {
    expect(isDue(up('a', 'waiting', 1), now)).toBe(true);
  });

  it.each(['UNAUTHORIZED', 'FORBIDDEN'] as const)('an upload waiting for credentials (%s) is never due and wakes nothing', (code) => {
    const held = up('a', 'waiting', 1, undefined, code);
    expect(isDue(held, now)).toBe(false);
    expect(pickNext([held], { now, concurrency: 3, running: new Set() })).toEqual([]);
    expect(nextWakeAt([{ ...held, retryAt: now + 5 }], now)).toBeUndefined();
  });
});

describe('after a failed run: the error code decides (RECOVERY)', () => {
  const base = { attempts: 0, early: false, now: 1_000, random: () => 1, policy: DEFAULT_RETRY_POLICY };
  const err = (code: UploadErrorCode) => new UploadError(code, code);
  it.each([
    { code: 'NETWORK', want: { kind: 'wait', attempts: 1, retryAt: 2_000, earlyRetry: true } },
    { code: 'TIMEOUT', want: { kind: 'wait', attempts: 1, retryAt: 2_000, earlyRetry: true } },
    { code: 'SERVER', want: { kind: 'wait', attempts: 1, retryAt: 2_000, earlyRetry: true } },
    { code: 'THROTTLED', want: { kind: 'wait', attempts: 1, retryAt: 2_000, earlyRetry: true } },
    { code: 'CORRUPTED', want: { kind: 'wait', attempts: 1, retryAt: 2_000, earlyRetry: true } },
    { code: 'STORAGE', want: { kind: 'wait', attempts: 1, retryAt: 2_000, earlyRetry: true } },
    { code: 'INTERNAL', want: { kind: 'wait', attempts: 1, retryAt: 2_000, earlyRetry: true } },
    { code: 'UNAUTHORIZED', want: { kind: 'hold', attempts: 1 } },
    { code: 'FORBIDDEN', want: { kind: 'hold', attempts: 1 } },
    { code: 'REJECTED', want: { kind: 'fail', attempts: 1 } },
    { code: 'UNSUPPORTED', want: { kind: 'fail', attempts: 1 } },
  ] as const)('$code → $want.kind', ({ code, want }) => {
    expect(afterRunFailure({ ...base, error: err(code) })).toEqual(want);
  });

  it('retry-limited codes fail on the 4th failure in a row; plain retries never do', () => {
    expect(afterRunFailure({ ...base, attempts: 2, error: err('INTERNAL') }).kind).toBe('wait');
    expect(afterRunFailure({ ...base, attempts: 3, error: err('INTERNAL') }).kind).toBe('fail');
    expect(afterRunFailure({ ...base, attempts: 3, error: err('CORRUPTED') }).kind).toBe('fail');
    expect(afterRunFailure({ ...base, attempts: 10_000, error: err('NETWORK') }).kind).toBe('wait');
  });

  it('an early retry that fails grants no further early retry; Retry-After lengthens the wait', () => {
    expect(afterRunFailure({ ...base, early: true, error: err('NETWORK') })).toMatchObject({ earlyRetry: false });
    expect(afterRunFailure({ ...base, error: err('THROTTLED'), retryAfterMs: 120_000 })).toMatchObject({ retryAt: 121_000 });
  });

  it('every error code has a recovery, and the page-only codes are final', () => {
    const codes = Object.keys(RECOVERY) as UploadErrorCode[];
    expect(codes.sort()).toEqual(
      ['CORRUPTED', 'CORS', 'FORBIDDEN', 'INTERNAL', 'INVALID_ARGUMENT', 'INVALID_STATE', 'NETWORK', 'NOT_FOUND', 'NOT_INSTALLED', 'NO_SERVICE_WORKER', 'QUOTA_EXCEEDED', 'REJECTED', 'SERVER', 'STORAGE', 'THROTTLED', 'TIMEOUT', 'UNAUTHORIZED', 'UNSUPPORTED'].sort(),
    );
    for (const code of ['QUOTA_EXCEEDED', 'NO_SERVICE_WORKER', 'NOT_INSTALLED', 'NOT_FOUND', 'INVALID_STATE', 'INVALID_ARGUMENT'] as const) expect(RECOVERY[code]).toBe('final');
    expect(new UploadError('NETWORK', 'x').recovery).toBe('retry');
    expect(new UploadError('CORS', 'x').recovery).toBe('retry-limited');
  });
});

describe('retry delays', () => {
  it.each([
    { attempt: 1, random: 1, want: 1_000 },
    { attempt: 2, random: 1, want: 2_000 },
    { attempt: 3, random: 1, want: 4_000 },
    { attempt: 6, random: 1, want: 32_000 },
    { attempt: 7, random: 1, want: 60_000 }, // capped
    { attempt: 1_000, random: 1, want: 60_000 },
    { attempt: 1, random: 0, want: 500 }, // jitter: half at least
    { attempt: 7, random: 0, want: 30_000 },
    { attempt: 3, random: 0.5, want: 3_000 },
    { attempt: 0, random: 1, want: 1_000 },
  ])('attempt $attempt with random $random waits $want ms', ({ attempt, random, want }) => {
    expect(retryDelay(attempt, () => random, DEFAULT_RETRY_POLICY)).toBe(want);
  });

  it('without jitter the delay is exact', () => {
    expect(retryDelay(2, () => 0.123, { ...DEFAULT_RETRY_POLICY, baseMs: 10, factor: 3, maxMs: 1_000, jitter: 0 })).toBe(30);
  });
});

describe('chunk size adapts to throughput', () => {
  const p = DEFAULT_CHUNK_POLICY;
  const at = (size: number, bytesPerSecond?: number): ChunkState => ({ size, ...(bytesPerSecond === undefined ? {} : { bytesPerSecond }) });
  it('starts at 1 MiB', () => expect(initialChunkState(p)).toEqual({ size: 1 * MiB }));
  it.each([
    { name: 'fast link grows at most x4 per step', state: at(1 * MiB), bytes: 1 * MiB, ms: 10, want: 4 * MiB },
    { name: 'about right stays (1 MiB/s → 1.5 MiB)', state: at(1 * MiB), bytes: 1 * MiB, ms: 1_000, want: 1.5 * MiB },
    { name: 'slow link shrinks to the minimum', state: at(1 * MiB), bytes: 1 * MiB, ms: 60_000, want: 256 * KiB },
    { name: 'never above the maximum (32 MiB)', state: at(32 * MiB, 1e12), bytes: 32 * MiB, ms: 1, want: 32 * MiB },
    { name: 'smoothing halves the jump', state: at(1 * MiB, 1 * MiB), bytes: 3 * MiB, ms: 1_000, want: 3 * MiB }, // rate (3+1)/2 = 2 MiB/s → 3 MiB
    { name: 'zero ms does not divide by zero', state: at(256 * KiB), bytes: 256 * KiB, ms: 0, want: 1 * MiB },
    { name: 'rounds down to 64 KiB', state: at(1 * MiB), bytes: 1_000_000, ms: 1_000, want: 1408 * KiB }, // 1.5e6 B
  ])('$name', ({ state, bytes, ms, want }) => {
    expect(afterChunk(state, bytes, ms, p).size).toBe(want);
  });
  it('an empty chunk changes nothing', () => expect(afterChunk(at(2 * MiB, 5), 0, 10, p)).toEqual(at(2 * MiB, 5)));
  it.each([
    { size: 4 * MiB, want: 2 * MiB },
    { size: 256 * KiB, want: 256 * KiB },
  ])('a failure halves $size to $want', ({ size, want }) => {
    expect(afterFailure(at(size), p).size).toBe(want);
  });

  const bare = { ...p, maxBytes: p.maxBytesWithoutDigest };
  it.each([
    { name: 'a fresh upload starts at 4 MiB', state: at(1 * MiB), want: at(4 * MiB) },
    { name: 'a measured rate is kept as it is', state: at(1 * MiB, 5 * MiB), want: at(1 * MiB, 5 * MiB) },
    { name: 'a bigger carried-over size stays', state: at(64 * MiB), want: at(64 * MiB) },
  ])('without per-chunk digests: $name', ({ state, want }) => {
    expect(startWithoutDigest(state, bare)).toEqual(want);
  });
  it('without per-chunk digests the start is capped by the maximum', () => {
    expect(startWithoutDigest(at(1 * MiB), { ...bare, maxBytes: 64 * KiB })).toEqual(at(64 * KiB));
  });

  it.each([
    { name: 'no rate known: the usual start', rate: undefined, want: at(1 * MiB) },
    { name: '10 MiB/s: a chunk of 1.5 s', rate: 10 * MiB, want: at(15 * MiB, 10 * MiB) },
    { name: 'a fast link: past the digest cap (each run caps by its own policy)', rate: 100 * MiB, want: at(150 * MiB, 100 * MiB) },
    { name: 'never past the cap without digests', rate: 1000 * MiB, want: at(256 * MiB, 1000 * MiB) },
    { name: 'a slow link: the minimum', rate: 10 * KiB, want: at(256 * KiB, 10 * KiB) },
  ])('a new upload on a link measured moments ago: $name', ({ rate, want }) => {
    expect(startFromLinkRate(rate, p)).toEqual(want);
  });

  it.each([
    { name: 'a chunk in the middle', offset: 0, file: 100 * MiB, chunk: 16 * MiB, want: 16 * MiB },
    { name: 'the last chunk ends at the file', offset: 90 * MiB, file: 100 * MiB, chunk: 16 * MiB, want: 100 * MiB },
    { name: 'a remainder under a quarter joins the chunk', offset: 0, file: 19 * MiB, chunk: 16 * MiB, want: 19 * MiB },
    { name: 'a remainder of a quarter or more stays apart', offset: 0, file: 20 * MiB, chunk: 16 * MiB, want: 16 * MiB },
    { name: 'never past the maximum (32 MiB)', offset: 0, file: 33 * MiB, chunk: 32 * MiB, want: 32 * MiB },
    { name: 'the chunk size is capped by the maximum', offset: 0, file: 100 * MiB, chunk: 64 * MiB, want: 32 * MiB },
  ])('chunk end: $name', ({ offset, file, chunk, want }) => {
    expect(chunkEnd(offset, file, chunk, p)).toBe(want);
  });

  it.each([
    { name: 'a chunk short of the end is left alone', start: 0, end: 64 * MiB, ready: false, want: 64 * MiB },
    { name: 'the completing chunk stops 1 MiB short while the digest is computed', start: 80 * MiB, end: 256 * MiB, ready: false, want: 255 * MiB },
    { name: 'the completing chunk goes whole once the digest is known', start: 80 * MiB, end: 256 * MiB, ready: true, want: 256 * MiB },
    { name: 'the last piece itself waits for the digest', start: 255 * MiB, end: 256 * MiB, ready: false, want: 256 * MiB },
    { name: 'a file under 1 MiB goes whole', start: 0, end: 512 * KiB, ready: false, want: 512 * KiB },
    { name: 'the bulk still goes first when it meets the server’s min-append-size', start: 250 * MiB, end: 256 * MiB, ready: false, min: 5 * MiB, want: 255 * MiB },
    { name: 'a bulk under the server’s min-append-size waits with the last piece', start: 251 * MiB, end: 256 * MiB, ready: false, min: 5 * MiB, want: 256 * MiB },
  ])('file digest: $name', ({ start, end, ready, min, want }) => {
    expect(endBeforeDigest(start, end, end === 512 * KiB ? 512 * KiB : 256 * MiB, ready, min)).toBe(want);
  });

  it.each([
    { name: 'no bounds: the policy itself', limits: undefined, want: { minBytes: p.minBytes, maxBytes: p.maxBytes } },
    { name: 'a max below ours caps appends', limits: { max: 3 * MiB }, want: { minBytes: p.minBytes, maxBytes: 3 * MiB } },
    { name: 'a max above ours changes nothing', limits: { max: 1024 * MiB }, want: { minBytes: p.minBytes, maxBytes: p.maxBytes } },
    { name: 'a min raises the smallest append', limits: { min: 5 * MiB }, want: { minBytes: 5 * MiB, maxBytes: p.maxBytes } },
    { name: 'a min above our cap outranks it', limits: { min: 40 * MiB }, want: { minBytes: 40 * MiB, maxBytes: 40 * MiB } },
    { name: 'min and max together', limits: { min: 5 * MiB, max: 8 * MiB }, want: { minBytes: 5 * MiB, maxBytes: 8 * MiB } },
  ])('server bounds: $name', ({ limits, want }) => {
    expect(withServerLimits(p, limits)).toMatchObject(want);
  });

  it('server bounds that no append short of the end can meet (min above max, or above the most one request carries) are undefined', () => {
    expect(withServerLimits(p, { min: 9 * MiB, max: 8 * MiB })).toBeUndefined();
    expect(withServerLimits(p, { min: p.maxBytesWithoutDigest })).toMatchObject({ minBytes: p.maxBytesWithoutDigest });
    expect(withServerLimits(p, { min: p.maxBytesWithoutDigest + 1 })).toBeUndefined();
  });
});

describe('state transitions', () => {
  const table: Array<[UploadState, UploadAction, UploadState | undefined]> = [
    ['queued', 'start', 'uploading'],
    ['waiting', 'start', 'uploading'],
    ['paused', 'start', undefined],
    ['uploading', 'complete', 'done'],
    ['queued', 'complete', undefined],
    ['uploading', 'transient', 'waiting'],
    ['uploading', 'permanent', 'failed'],
    ['uploading', 'interrupted', 'queued'],
    ['uploading', 'pause', 'paused'],
    ['waiting', 'pause', 'paused'],
    ['paused', 'pause', 'paused'],
    ['done', 'pause', undefined],
    ['failed', 'pause', undefined],
    ['paused', 'resume', 'queued'],
    ['uploading', 'resume', undefined],
    ['failed', 'retry', 'queued'],
    ['waiting', 'retry', 'queued'],
    ['done', 'retry', undefined],
    ['paused', 'retry', undefined],
    ['uploading', 'cancel', 'cancelled'],
    ['failed', 'cancel', 'cancelled'],
    ['done', 'cancel', undefined],
    ['cancelled', 'cancel', undefined],
    ['cancelled', 'resume', undefined],
  ];
  it.each(table)('%s + %s → %s', (state, action, want) => {
    expect(nextState(state, action)).toBe(want);
    if (want === undefined) {
      expect(() => transition(state, action)).toThrow(UploadError);
      try {
        transition(state, action);
      } catch (error) {
        expect((error as UploadError).code).toBe('INVALID_STATE');
      }
    } else {
      expect(transition(state, action)).toBe(want);
    }
  });
});

describe('progress throttle', () => {
  it.each([
    { name: 'first event passes', times: [0], want: [true] },
    { name: 'at most one per 100 ms', times: [0, 50, 99, 100, 150, 250], want: [true, false, false, true, false, true] },
  ])('$name', ({ times, want }) => {
    let now = 0;
    const throttle = new ProgressThrottle(() => now, 100);
    expect(times.map((t) => ((now = t), throttle.allow('a')))).toEqual(want);
  });
  it('each upload has its own budget; reset lets the next one through', () => {
    let now = 0;
    const throttle = new ProgressThrottle(() => now, 100);
    expect([throttle.allow('a'), throttle.allow('b'), throttle.allow('a')]).toEqual([true, true, false]);
    throttle.reset('a');
    now = 1;
    expect(throttle.allow('a')).toBe(true);
  });
});

describe('request timeouts', () => {
  const policy = DEFAULT_TIMEOUT_POLICY; // 30 s + body at 64 KiB/s
  it.each([
    // bodyBytes, measured B/s, expected ms
    { bytes: 0, rate: undefined, ms: 30_000 },
    { bytes: 0, rate: 100 * MiB, ms: 30_000 },
    { bytes: 64 * MiB, rate: undefined, ms: 30_000 + 1024_000 }, // before any measurement: conservative
    { bytes: 64 * MiB, rate: 64 * MiB, ms: 30_000 + 4_000 }, // 4× the measured time
    { bytes: 1 * MiB, rate: 1 * MiB, ms: 30_000 + 4_000 },
    { bytes: 1 * MiB, rate: 128 * KiB, ms: 30_000 + 16_000 }, // a quarter is 32 KiB/s: the 64 KiB/s floor applies
    { bytes: 1 * MiB, rate: 1, ms: 30_000 + 16_000 }, // never less patient than the floor
    { bytes: 1 * MiB, rate: 0, ms: 30_000 + 16_000 }, // a nonsense rate counts as unknown
  ])('$bytes bytes at measured $rate B/s: $ms ms', ({ bytes, rate, ms }) => {
    expect(requestTimeoutMs(bytes, policy, rate)).toBe(ms);
  });

  it('keeps the policy knobs (sw.js timeoutBaseMs, timeoutMinBytesPerSecond)', () => {
    const custom = { baseMs: 1_000, minBytesPerSecond: 1 * MiB };
    expect(requestTimeoutMs(2 * MiB, custom)).toBe(3_000);
    expect(requestTimeoutMs(2 * MiB, custom, 16 * MiB)).toBe(1_500);
    expect(requestTimeoutMs(2 * MiB, custom, 2 * MiB)).toBe(3_000);
  });
});
