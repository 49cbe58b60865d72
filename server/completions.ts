// Completion and onComplete delivery, for every protocol alike. The hook runs after the final reply
// and outside the writer lock; a failing hook is logged with the upload's id and retried; a
// completion that failed (disk full) is retried in the background and then delivered; whatever a
// crash interrupted is delivered at the next start, from the storage's "awaiting delivery" records.
// Exactly once while the process runs; at least once across crashes.
import { UploadServerError } from './errors.js';
import { settlesWithin } from './deadline.js';
import type { UploadLocks } from './locks.js';
import type { UploadLogger } from './options.js';
import { storageKey, type CompletedUpload, type UploadRef, type UploadStorage } from './storage.js';

/** Delay before attempt `attempt + 1`: 1 s, doubling, at most 10 min. */
export function retryDelayMs(attempt: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempt - 1), 10 * 60 * 1000);
}

export class CompletionDelivery {
  readonly #storage: UploadStorage;
  readonly #locks: UploadLocks;
  readonly #hook: ((info: CompletedUpload) => void | Promise<void>) | undefined;
  readonly #logger: UploadLogger;
  /** Hooks and retries running now, so close() can wait for them. */
  readonly #work = new Set<Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Uploads whose delivery is under way or waiting for a retry: never two deliveries at once. */
  readonly #busy = new Set<string>();
  /** Uploads whose completion failed and is retried in the background, until a request completes them. */
  readonly #finishing = new Set<string>();
  #closed = false;

  constructor(options: {
    storage: UploadStorage;
    locks: UploadLocks;
    hook: ((info: CompletedUpload) => void | Promise<void>) | undefined;
    logger: UploadLogger;
  }) {
    this.#storage = options.storage;
    this.#locks = options.locks;
    this.#hook = options.hook;
    this.#logger = options.logger;
  }

  /** At startup, before serving: delivers (one at a time, in the background) what was left undelivered. */
  async resume(): Promise<void> {
    const backlog: CompletedUpload[] = [];
    for await (const done of this.#storage.unnotified()) backlog.push(done);
    if (backlog.length === 0) return;
    this.#track(
      (async () => {
        for (const done of backlog) if (!this.#closed) await this.#deliver(done, 1);
      })(),
    );
  }

  /** Completes the upload (the caller holds its lease); delivery follows the reply. */
  async complete(ref: UploadRef): Promise<CompletedUpload> {
    const key = storageKey(ref);
    let done: CompletedUpload;
    try {
      done = await this.#storage.complete(ref);
    } catch (err) {
      if (!this.#finishing.has(key)) {
        this.#finishing.add(key);
        this.#later(retryDelayMs(1), () => this.#finish(ref, 1));
      }
      throw err;
    }
    // Completed here after all: the background retry has nothing left to do.
    this.#finishing.delete(key);
    // After the reply has been handed to the connection: a slow hook must not hold back the client's last 200.
    this.#track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#deliver(done, 1)));
    return done;
  }

  /**
   * A request appends to the upload: it completes the upload itself when its client asks (which
   * may be later: status/slice `X-Upload-Complete: ?0`, the digest it checks coming with the
   * completing request), so a background retry of an earlier failed completion stops.
   */
  forget(ref: UploadRef): void {
    this.#finishing.delete(storageKey(ref));
  }

  /** Stops the retries; waits up to `timeoutMs` for hooks in flight. What is not delivered now is at the next start. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (!(await settlesWithin([...this.#work], timeoutMs))) {
      this.#logger.warn('resilient-upload: closing while onComplete still runs; what it has not finished is delivered again at the next start');
    }
  }

  /** Retries a completion that failed, under the lock if nobody else holds it, then delivers. */
  async #finish(ref: UploadRef, attempt: number): Promise<void> {
    const key = storageKey(ref);
    if (!this.#finishing.has(key)) return;
    const lease = this.#locks.tryAcquire(key);
    // A request holds the upload: it may complete it itself; look again later.
    if (!lease) return this.#later(retryDelayMs(attempt), () => this.#finish(ref, attempt));
    let done: CompletedUpload;
    try {
      // Cancelled meanwhile (DELETE, sweep): nothing left to complete.
      if ((await this.#storage.status(ref)) === undefined) return void this.#finishing.delete(key);
      done = await this.#storage.complete(ref);
    } catch (err) {
      if (err instanceof UploadServerError && err.code === 'OFFSET_MISMATCH') {
        // Not whole any more (its client re-sent a slice since): the request that makes it whole completes it.
        this.#logger.warn(`resilient-upload: upload ${describe(ref)} is no longer whole (${reason(err)}); its next request completes it`);
        return void this.#finishing.delete(key);
      }
      const wait = retryDelayMs(attempt);
      this.#logger.error(`resilient-upload: completing upload ${describe(ref)} failed (attempt ${attempt}: ${reason(err)}); retrying in ${wait / 1000} s`, err);
      return this.#later(wait, () => this.#finish(ref, attempt + 1));
    } finally {
      lease.release();
    }
    this.#finishing.delete(key);
    await this.#deliver(done, 1);
  }

  async #deliver(done: CompletedUpload, attempt: number): Promise<void> {
    const ref: UploadRef = { namespace: done.metadata.namespace, id: done.metadata.id };
    const key = storageKey(ref);
    if (attempt === 1) {
      if (this.#busy.has(key)) return;
      this.#busy.add(key);
    }
    try {
      await this.#hook?.(done);
    } catch (err) {
      const wait = retryDelayMs(attempt);
      this.#logger.error(`resilient-upload: onComplete failed for upload ${describe(ref)} (attempt ${attempt}: ${reason(err)}); retrying in ${wait / 1000} s`, err);
      return this.#later(wait, () => this.#deliver(done, attempt + 1));
    }
    this.#busy.delete(key);
    await this.#storage.markNotified(ref).catch((err: unknown) => {
      this.#logger.warn(`resilient-upload: could not record the delivery of upload ${describe(ref)}; it is delivered again at the next start`, err);
    });
  }

  #later(ms: number, work: () => Promise<void>): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#track(work());
    }, ms);
    // Retries never keep a process alive on their own; the next start picks them up.
    timer.unref();
    this.#timers.add(timer);
  }

  #track(work: Promise<void>): void {
    const p = work.catch((err: unknown) => this.#logger.error('resilient-upload: onComplete delivery failed', err));
    this.#work.add(p);
    void p.finally(() => this.#work.delete(p));
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function describe(ref: UploadRef): string {
  return ref.namespace === '' ? JSON.stringify(ref.id) : `${JSON.stringify(ref.id)} of namespace ${JSON.stringify(ref.namespace)}`;
}
