// Time, injected so tests control it, and the deadlines built on it. Deadlines are built here
// rather than with AbortSignal.timeout/any: those run on real time (a test could not advance
// them) and older engines lack AbortSignal.any.

/** The worker's time source: now and one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock of the current global scope (worker or Node). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/** Why a deadline signal aborted. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(readonly ms: number) {
    super(`no answer within ${Math.round(ms / 1000)} s`);
  }
}

/** A signal that aborts when `parent` does or `ms` pass on `clock`; `dispose` frees the timer and listener. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True once the deadline (not the parent) aborted the signal. */
  readonly expired: boolean;
  dispose(): void;
}

export function deadline(clock: Clock, ms: number, parent: AbortSignal): Deadline {
  const timed = timedSignal(clock, ms, parent);
  timed.arm();
  return timed;
}

/** A signal that aborts when `parent` does, or when a body stops moving (see `stallWatch`). */
export interface StallWatch extends Deadline {
  /** `sent` of `total` bytes are out: re-arms the watch, or disarms it once all are. */
  moved(sent: number, total: number): void;
}

/**
 * Aborts once `ms` pass on `clock` with no `moved` call while bytes remain to be sent. Armed by the
 * first `moved` (only a body that reports its progress can be watched), disarmed once the whole
 * body is out (waiting for the answer is the request's own deadline).
 */
export function stallWatch(clock: Clock, ms: number, parent: AbortSignal): StallWatch {
  const timed = timedSignal(clock, ms, parent);
  return {
    signal: timed.signal,
    get expired() {
      return timed.expired;
    },
    moved(sent, total) {
      timed.disarm();
      if (!timed.signal.aborted && sent < total) timed.arm();
    },
    dispose: () => timed.dispose(),
  };
}

/** What `deadline` and `stallWatch` share: a signal that follows `parent`, and a timer to (re)arm. */
function timedSignal(clock: Clock, ms: number, parent: AbortSignal): Deadline & { arm(): void; disarm(): void } {
  const controller = new AbortController();
  let expired = false;
  let timer: unknown;
  const onParent = (): void => controller.abort(parent.reason);
  if (parent.aborted) onParent();
  else parent.addEventListener('abort', onParent, { once: true });
  const disarm = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  };
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    arm() {
      disarm();
      timer = clock.setTimeout(() => {
        expired = true;
        controller.abort(new DeadlineExceeded(ms));
      }, ms);
    },
    disarm,
    dispose() {
      disarm();
      parent.removeEventListener('abort', onParent);
    },
  };
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves (with nothing) once `signal` aborts: to stop waiting for something that ignores it. */
export function abortOf(signal: AbortSignal): Promise<undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
}
