import { BodyRate, type BodyRatePolicy } from './body-rate.js';
import { UploadServerError } from './errors.js';

export interface BodyDeadlines {
  /** No chunk for this long ends the body. */
  readonly idleTimeoutMs: number;
  /** The minimum average rate over windows of waiting on the client. */
  readonly rate: BodyRatePolicy;
}

/**
 * Wraps a request body so that reading it ends with an error when `signal` aborts (takeover,
 * shutdown), no chunk arrives for `idleTimeoutMs`, or the client sends slower than the minimum
 * rate (TIMEOUT). Each wait has its own listener and timer, removed once settled: racing against
 * one long-lived promise would retain every chunk. `now` measures the waits (monotonic).
 *
 * When the consumer stops early (limit reached) the source is left alone, so the adapter can
 * still answer on the same connection; it is cancelled only on abort or timeout.
 */
export async function* withDeadlines(
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
  deadlines: BodyDeadlines,
  now: () => number = () => performance.now(),
): AsyncGenerator<Uint8Array, void, undefined> {
  const it = body[Symbol.asyncIterator]();
  const rate = new BodyRate(deadlines.rate);
  let settled = false;
  try {
    for (;;) {
      let result: IteratorResult<Uint8Array>;
      const waitFrom = now();
      try {
        result = await nextOrStop(it, signal, deadlines.idleTimeoutMs);
      } catch (err) {
        settled = true;
        // A read may still be pending; return() then runs once the adapter destroys the socket.
        if (err instanceof StopReading) void it.return?.()?.catch(() => undefined);
        throw err instanceof StopReading ? err.reason : err;
      }
      if (result.done) {
        settled = true;
        return;
      }
      const tooSlow = !rate.record(result.value.byteLength, now() - waitFrom);
      // The chunk that closed a slow window still counts; the body ends after it.
      yield result.value;
      if (tooSlow) {
        settled = true;
        void it.return?.()?.catch(() => undefined);
        const min = deadlines.rate.minBytesPerSecond;
        throw new UploadServerError('TIMEOUT', `the request body arrived slower than ${min} bytes/s; what arrived is kept`);
      }
    }
  } finally {
    // The consumer stopped early: release the source without destroying it.
    if (!settled) void it.return?.()?.catch(() => undefined);
  }
}

class StopReading {
  constructor(readonly reason: unknown) {}
}

function nextOrStop(
  it: AsyncIterator<Uint8Array>,
  signal: AbortSignal,
  idleTimeoutMs: number,
): Promise<IteratorResult<Uint8Array>> {
  if (signal.aborted) return Promise.reject(new StopReading(reasonOf(signal)));
  return new Promise((resolve, reject) => {
    const stop = (reason: unknown): void => {
      cleanup();
      reject(new StopReading(reason));
    };
    const onAbort = (): void => stop(reasonOf(signal));
    const timer = setTimeout(() => stop(new UploadServerError('TIMEOUT')), idleTimeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    it.next().then(
      (r) => {
        cleanup();
        resolve(r);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

function reasonOf(signal: AbortSignal): unknown {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new UploadServerError('INTERNAL', 'request aborted', { cause: r });
}
