// Scheduling and running uploads: starts what is due up to the concurrency limit, turns each
// run's outcome into a state, and keeps one timer for the next retry.
import { UploadError } from '../src/protocol/index.js';
import { initialChunkState, type ChunkPolicy, type ChunkState } from './chunk-size.js';
import type { Clock } from './clock.js';
import { ProgressThrottle } from './progress-throttle.js';
import type { RecordBook } from './record-book.js';
import { retryDelay, type RetryPolicy } from './retry.js';
import { runUpload, type RunOutcome } from './runner.js';
import { nextWakeAt, pickNext } from './scheduler.js';
import type { UploadRecord } from './record.js';
import { transition } from './transitions.js';
import { getStatus, type TimeoutPolicy } from './transport.js';

export interface RunsConfig {
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly random: () => number;
  readonly registerSync: (() => Promise<void>) | undefined;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly chunk: ChunkPolicy;
  readonly timeouts: TimeoutPolicy;
  readonly digest: boolean;
}

interface Run {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

export class Runs {
  readonly #book: RecordBook;
  readonly #config: RunsConfig;
  readonly #throttle: ProgressThrottle;
  readonly #running = new Map<string, Run>();
  readonly #chunks = new Map<string, ChunkState>();
  #timer: unknown;
  #wakeAt: number | undefined;
  #enabled = false;

  constructor(book: RecordBook, config: RunsConfig) {
    this.#book = book;
    this.#config = config;
    this.#throttle = new ProgressThrottle(() => config.clock.now());
  }

  isRunning(id: string): boolean {
    return this.#running.has(id);
  }

  /** Aborts the run of `id`, if any; resolves when it has stopped. */
  async stop(id: string): Promise<void> {
    const run = this.#running.get(id);
    run?.controller.abort();
    await run?.done;
  }

  forget(id: string): void {
    this.#chunks.delete(id);
    this.#throttle.reset(id);
  }

  /** Starts whatever is due and re-arms the retry timer. Does nothing before `enable`. */
  schedule(now: number = this.#config.clock.now()): void {
    if (!this.#enabled) return;
    const running = new Set(this.#running.keys());
    for (const id of pickNext(this.#book.all(), { now, concurrency: this.#config.concurrency, running })) this.#launch(id);
    this.#arm(nextWakeAt(this.#book.all(), now), now);
  }

  enable(): void {
    this.#enabled = true;
    this.schedule();
  }

  /** Resolves when nothing runs and no retry is due within `graceMs`. */
  async whenIdle(graceMs: number): Promise<void> {
    for (;;) {
      // One `now` for both: had the clock ticked in between, a retry falling due at that tick
      // would be neither started nor waited for, and this would resolve with it pending.
      const now = this.#config.clock.now();
      this.schedule(now);
      const runs = [...this.#running.values()].map((r) => r.done);
      if (runs.length > 0) {
        await Promise.race(runs);
        continue;
      }
      const wake = nextWakeAt(this.#book.all(), now);
      if (wake === undefined || wake - now > graceMs) return;
      await new Promise<void>((resolve) => this.#config.clock.setTimeout(resolve, wake - now));
    }
  }

  /** One timer for the earliest retry, while the worker lives. */
  #arm(wake: number | undefined, now: number): void {
    if (wake === this.#wakeAt) return;
    if (this.#timer !== undefined) this.#config.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAt = wake;
    if (wake === undefined) return;
    this.#timer = this.#config.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#wakeAt = undefined;
      this.schedule();
    }, wake - now);
  }

  #launch(id: string): void {
    const record = this.#book.update(id, { state: transition(this.#book.get(id).state, 'start'), retryAt: undefined });
    this.#book.emit('state', record);
    const controller = new AbortController();
    const done = this.#run(id, controller.signal).finally(() => {
      this.#running.delete(id);
      this.schedule();
    });
    this.#running.set(id, { controller, done });
  }

  async #run(id: string, signal: AbortSignal): Promise<void> {
    let outcome: RunOutcome;
    try {
      const record = this.#book.get(id);
      const blob = await this.#book.store.getBlob(id);
      outcome = blob === undefined ? await this.#withoutBlob(record, signal) : await this.#upload(record, blob, signal);
    } catch (cause) {
      const error = cause instanceof UploadError ? cause : new UploadError('INTERNAL', 'The upload loop failed', { cause });
      outcome = { kind: 'permanent', error };
    }
    this.#finish(id, outcome);
  }

  async #upload(record: UploadRecord, blob: Blob, signal: AbortSignal): Promise<RunOutcome> {
    const id = record.id;
    const result = await runUpload(record, blob, {
      fetch: this.#config.fetch,
      signal,
      now: () => this.#config.clock.now(),
      chunkPolicy: this.#config.chunk,
      chunk: this.#chunks.get(id) ?? initialChunkState(this.#config.chunk),
      timeouts: this.#config.timeouts,
      digest: this.#config.digest,
      onProgress: (offset, chunk) => this.#progress(id, offset, chunk),
    });
    this.#chunks.set(id, result.chunk);
    return result.outcome;
  }

  /**
   * The Blob is gone (site data partly cleared, or the store lost it). The server may still
   * hold the whole file: ask it before failing.
   */
  async #withoutBlob(record: UploadRecord, signal: AbortSignal): Promise<RunOutcome> {
    const reply = await getStatus({
      fetch: this.#config.fetch,
      endpoint: record.endpoint,
      fileId: record.fileId,
      headers: record.headers,
      signal,
      timeouts: this.#config.timeouts,
    });
    if (reply.kind === 'aborted') return reply;
    if (reply.kind === 'ok' && reply.complete) return { kind: 'done' };
    // Unreachable server: decide later, when it can tell whether it has the file.
    if (reply.kind === 'transient') return reply;
    return { kind: 'permanent', error: new UploadError('STORAGE', 'The stored file is gone (site data cleared?)') };
  }

  #progress(id: string, offset: number, chunk: ChunkState): void {
    const record = this.#book.find(id);
    if (record === undefined || (record.offset === offset && record.bytesPerSecond === chunk.bytesPerSecond)) return;
    // Progress resets the backoff: a long upload over a flaky link should not creep up to 60 s.
    const attempts = offset > record.offset ? 0 : record.attempts;
    const patch = chunk.bytesPerSecond === undefined ? { offset, attempts } : { offset, attempts, bytesPerSecond: Math.round(chunk.bytesPerSecond) };
    const updated = this.#book.update(id, patch);
    if (updated.state === 'uploading' && this.#throttle.allow(id)) this.#book.emit('progress', updated);
  }

  #finish(id: string, outcome: RunOutcome): void {
    const record = this.#book.find(id);
    // Paused or cancelled meanwhile: the user's action already set the state.
    if (record === undefined || record.state !== 'uploading') return;
    this.#throttle.reset(id);
    switch (outcome.kind) {
      case 'done': {
        // One transaction: a failed write keeps the Blob, so a restart resumes (and sees `complete`).
        const done = this.#book.finish(id, { state: transition(record.state, 'complete'), offset: record.size, attempts: 0, error: undefined });
        this.#book.emit('state', done);
        this.#book.emit('complete', done);
        return;
      }
      case 'transient': {
        const attempts = record.attempts + 1;
        const delay = Math.max(retryDelay(attempts, this.#config.random, this.#config.retry), outcome.retryAfterMs ?? 0);
        const error = outcome.error.toInfo();
        const waiting = this.#book.update(id, { state: transition(record.state, 'transient'), attempts, error, retryAt: this.#config.clock.now() + delay });
        this.#config.registerSync?.().catch(() => undefined); // unsupported or denied: the timer and `online` remain
        this.#book.emit('state', waiting);
        this.#book.emitError(waiting, outcome.error);
        return;
      }
      case 'permanent': {
        const failed = this.#book.update(id, { state: transition(record.state, 'permanent'), error: outcome.error.toInfo(), retryAt: undefined });
        this.#book.emit('state', failed);
        this.#book.emitError(failed, outcome.error);
        return;
      }
      case 'aborted':
        // Aborted without a user action (should not happen): run it again.
        this.#book.emit('state', this.#book.update(id, { state: transition(record.state, 'interrupted') }));
    }
  }
}
