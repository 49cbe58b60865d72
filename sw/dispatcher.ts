// Runs uploads: starts what is due up to the concurrency limit, turns each run's outcome into a
// state (through the retry policy), and keeps one timer for the next retry.
import { UploadError, toUploadError, type UploadView } from '../src/protocol/index.js';
import { LINK_RATE_TTL_MS, startFromLinkRate, type ChunkPolicy, type ChunkState } from './chunk-size.js';
import type { Clock } from './clock.js';
import { ProgressThrottle } from './progress-throttle.js';
import { toView, type UploadRecord } from './record.js';
import type { RecordBook } from './record-book.js';
import { afterFailure, type RetryPolicy } from './retry.js';
import { nextWakeAt, pickNext } from './schedule.js';
import { fileDigest } from './file-digest.js';
import { askHeaders } from './headers-hook.js';
import { SliceHasher } from './slice-hasher.js';
import type { StoredFile } from './stored-file.js';
import type { Transport } from './transport/port.js';
import type { TimeoutPolicy } from './transport/timeouts.js';
import { runUpload, type RunOutcome } from './upload-loop.js';

/** Headers of an upload's next request: the stored ones merged with the hook's, when there is one. */
export type HeadersSource = (upload: UploadView, stored: Readonly<Record<string, string>>) => Promise<Readonly<Record<string, string>>>;

export interface DispatcherConfig {
  readonly book: RecordBook;
  readonly transport: Transport;
  readonly clock: Clock;
  /** [0, 1), for backoff jitter. */
  readonly random: () => number;
  readonly headers: HeadersSource;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly chunk: ChunkPolicy;
  readonly timeouts: TimeoutPolicy;
  /** Let the server check what it received (default on). */
  readonly digest: boolean;
  /**
   * How: `'file'` — one digest of the whole file, checked when the upload completes (chunks stream
   * at full speed; a mismatch makes the upload start over with `'chunks'`); `'chunks'` — a digest per
   * chunk, each checked before it is kept. Transports whose server checks no whole-file digest use chunks.
   */
  readonly integrity: 'file' | 'chunks';
  /**
   * Asks the browser for a `sync` event once the network is back. Only called while the worker
   * believes it is offline: registered while online, Chromium fires it at once, and a failure
   * that registers again turned Background Sync into a retry storm.
   */
  readonly registerSync?: () => Promise<void>;
  readonly isOnline: () => boolean;
}

interface Run {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

export class Dispatcher {
  readonly #config: DispatcherConfig;
  readonly #book: RecordBook;
  readonly #throttle: ProgressThrottle;
  readonly #running = new Map<string, Run>();
  readonly #chunks = new Map<string, ChunkState>();
  /** The latest rate measured to each endpoint, and when: a new upload there starts from it. */
  readonly #linkRates = new Map<string, { readonly bytesPerSecond: number; readonly at: number }>();
  /** Whole-file digests being computed, by upload: started when a run starts, awaited before the last chunk. */
  readonly #fileDigests = new Map<string, Promise<string>>();
  /** Uploads added in this worker that no run has started yet: nothing of them can be on the server. */
  readonly #untouched = new Set<string>();
  /** Uploads that start no run before a promise settles (a cancel of the same file still asking the server). */
  readonly #held = new Map<string, Promise<unknown>>();
  /** Uploads a trigger pulled forward: their failure grants no further early retry. */
  readonly #early = new Set<string>();
  #timer: unknown;
  #wakeAt: number | undefined;
  #enabled = false;

  constructor(config: DispatcherConfig) {
    this.#config = config;
    this.#book = config.book;
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

  /** A new upload, added in this worker: its first run may skip asking the server (see Transport.appendsFirst). */
  added(id: string): void {
    this.#untouched.add(id);
  }

  /** `id` starts no run before `until` settles. */
  holdUntil(id: string, until: Promise<unknown>): void {
    this.#held.set(id, until);
    void until
      .catch(() => undefined)
      .then(() => {
        if (this.#held.get(id) !== until) return;
        this.#held.delete(id);
        this.schedule();
      });
  }

  forget(id: string): void {
    this.#held.delete(id);
    this.#untouched.delete(id);
    this.#chunks.delete(id);
    this.#throttle.reset(id);
    this.#early.delete(id);
    this.#fileDigests.delete(id);
  }

  /** Starts whatever is due and re-arms the retry timer. Does nothing before `enable`. */
  schedule(now: number = this.#config.clock.now()): void {
    if (!this.#enabled) return;
    const running = new Set(this.#running.keys());
    const startable = this.#book.all().filter((r) => !this.#held.has(r.id));
    for (const id of pickNext(startable, { now, concurrency: this.#config.concurrency, running })) this.#launch(id);
    this.#arm(nextWakeAt(this.#book.all(), now), now);
  }

  enable(): void {
    this.#enabled = true;
    this.schedule();
  }

  /**
   * Starts nothing more and aborts what runs (each goes back to `queued`, its offset kept), for
   * a new version of the worker to take over; `enable()` undoes it. Resolves once all stopped.
   */
  async suspend(): Promise<void> {
    this.#enabled = false;
    if (this.#timer !== undefined) this.#config.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAt = undefined;
    const runs = [...this.#running.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.done));
  }

  /**
   * The page saw `online`, or a `sync` event fired: waiting uploads that failed to reach the
   * server may try now, once per failure. A second trigger before the next failure waits for
   * the timer, so no trigger, however often it fires, can beat the backoff.
   */
  retryEarly(): void {
    const now = this.#config.clock.now();
    for (const record of this.#book.all()) {
      if (record.state !== 'waiting' || record.earlyRetry !== true || (record.retryAt ?? 0) <= now) continue;
      this.#book.update(record.id, { retryAt: now, earlyRetry: false });
      this.#early.add(record.id);
    }
    this.schedule(now);
  }

  /**
   * The page saw `offline`: every run stops and its upload waits as after a network failure (an
   * early retry granted, so `online` resumes it at once). A request under way would fail by itself
   * on a network that is really gone, but only after its timeouts, and devtools' offline lets a
   * request already sending go on to its end: up to a whole streamed file while the page says offline.
   */
  networkGone(): void {
    // The reason is what the run ends with (see #launch).
    for (const run of this.#running.values()) run.controller.abort(new UploadError('NETWORK', 'The browser went offline'));
  }

  /** Resolves when nothing runs and no retry is due within `graceMs`. */
  async whenIdle(graceMs: number): Promise<void> {
    for (;;) {
      // Suspended for a new version: nothing will run here, and waiting would hold that version back.
      if (!this.#enabled) return;
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
    const early = this.#early.delete(id);
    this.#book.move(id, 'start', { retryAt: undefined, earlyRetry: undefined });
    const controller = new AbortController();
    const done = this.#run(id, controller.signal).then((outcome) => this.#finish(id, failedIfOffline(outcome, controller.signal), early));
    const run: Run = { controller, done };
    void done.finally(() => {
      this.#running.delete(id);
      this.schedule();
    });
    this.#running.set(id, run);
  }

  async #run(id: string, signal: AbortSignal): Promise<RunOutcome> {
    try {
      const record = this.#book.get(id);
      const file = await this.#book.file(record);
      if (file === undefined) return await this.#withoutFile(record, signal);
      const integrity = this.#integrity(record);
      const result = await runUpload(record, file, {
        transport: this.#config.transport,
        clock: this.#config.clock,
        signal,
        headers: () => this.#headers(id),
        timeouts: this.#config.timeouts,
        chunkPolicy: this.#config.chunk,
        untouched: this.#untouched.delete(id),
        chunk: this.#chunks.get(id) ?? startFromLinkRate(this.#linkRate(record.endpoint), this.#config.chunk),
        hasher: integrity === 'chunks' ? new SliceHasher() : undefined,
        fileDigest: integrity === 'file' ? this.#fileDigest(record, file) : undefined,
        onProgress: (offset, chunk) => this.#progress(id, offset, chunk),
        // Only a chunk timed now says what the link does now (not a rate carried from an old run).
        onMeasured: (bytesPerSecond) => this.#linkRates.set(record.endpoint, { bytesPerSecond, at: this.#config.clock.now() }),
        onSent: (sent) => this.#sent(id, sent),
        onRemote: (remote) => this.#book.update(id, { remote }),
      });
      this.#chunks.set(id, result.chunk);
      return result.outcome;
    } catch (error) {
      return { kind: 'failed', error: toUploadError(error, 'The upload loop failed') };
    }
  }

  #integrity(record: UploadRecord): 'file' | 'chunks' | 'none' {
    if (!this.#config.digest) return 'none';
    if (this.#config.integrity === 'chunks' || record.chunkDigests === true) return 'chunks';
    return this.#config.transport.supportsFileDigest?.(record) === true ? 'file' : 'chunks';
  }

  /** Starts computing the whole-file digest now (it overlaps the transfer); kept in the record once known. */
  #fileDigest(record: UploadRecord, file: StoredFile): () => Promise<string> {
    const id = record.id;
    if (record.fileDigest !== undefined) {
      const known = record.fileDigest;
      return () => Promise.resolve(known);
    }
    let pending = this.#fileDigests.get(id);
    if (pending === undefined) {
      pending = fileDigest(file).then((digest) => {
        if (this.#book.find(id) !== undefined) this.#book.update(id, { fileDigest: digest });
        return digest;
      });
      pending.catch(() => this.#fileDigests.delete(id)); // a read error: computed again next run
      this.#fileDigests.set(id, pending);
    }
    const digest = pending;
    return () => digest;
  }

  #headers(id: string): Promise<Readonly<Record<string, string>>> {
    const record = this.#book.get(id);
    return this.#config.headers(toView(record), record.headers);
  }

  /**
   * The file is gone (site data partly cleared, or the store lost it). The server may still
   * hold the whole file: ask it before failing.
   */
  async #withoutFile(record: UploadRecord, signal: AbortSignal): Promise<RunOutcome> {
    let headers: Readonly<Record<string, string>> | undefined;
    try {
      headers = await askHeaders(() => this.#headers(record.id), this.#config.clock, this.#config.timeouts.baseMs, signal);
    } catch (error) {
      return { kind: 'failed', error: toUploadError(error, 'The headers hook failed') };
    }
    if (headers === undefined) return { kind: 'aborted' };
    const reply = await this.#config.transport.status(record, { signal, headers });
    if (reply.kind === 'aborted') return reply;
    if (reply.kind === 'offset' && reply.complete) return { kind: 'done' };
    // Unreachable server: decide later, when it can tell whether it has the file.
    if (reply.kind === 'failed' && reply.error.recovery !== 'final') return reply;
    return { kind: 'failed', error: new UploadError('REJECTED', 'The stored file is gone (site data cleared?) and the server does not have it') };
  }

  /** A rate measured to `endpoint` within the last LINK_RATE_TTL_MS, if any. */
  #linkRate(endpoint: string): number | undefined {
    const known = this.#linkRates.get(endpoint);
    if (known === undefined || this.#config.clock.now() - known.at > LINK_RATE_TTL_MS) return undefined;
    return known.bytesPerSecond;
  }

  #progress(id: string, offset: number, chunk: ChunkState): void {
    const record = this.#book.find(id);
    if (record === undefined || record.state !== 'uploading') return;
    const rate = chunk.bytesPerSecond === undefined ? undefined : Math.round(chunk.bytesPerSecond);
    const hadError = record.error !== undefined;
    if (!hadError && record.offset === offset && record.bytesPerSecond === rate && (record.sent === undefined || record.sent > offset)) return;
    // Progress resets the backoff: a long upload over a flaky link should not creep up to 60 s.
    const attempts = offset > record.offset ? 0 : record.attempts;
    // The server answered: whatever went wrong before is no longer current.
    const sent = record.sent !== undefined && record.sent > offset ? record.sent : undefined;
    const updated = this.#book.update(id, { offset, sent, attempts, error: undefined, ...(rate === undefined ? {} : { bytesPerSecond: rate }) });
    if (hadError) this.#book.emit('state', updated);
    else if (this.#throttle.allow(id)) this.#book.emit('progress', updated);
  }

  /** Bytes on their way (a page's XHR reports them): memory only, for the pages' progress bars. */
  #sent(id: string, sent: number): void {
    const record = this.#book.find(id);
    if (record === undefined || record.state !== 'uploading' || sent <= (record.sent ?? record.offset)) return;
    const updated = this.#book.note(id, { sent });
    if (this.#throttle.allow(id)) this.#book.emit('progress', updated);
  }

  #finish(id: string, outcome: RunOutcome, early: boolean): void {
    const record = this.#book.find(id);
    // Paused or cancelled meanwhile: the user's action already set the state.
    if (record === undefined || record.state !== 'uploading') return;
    this.#throttle.reset(id);
    if (outcome.kind === 'done') {
      this.#book.move(id, 'complete', { offset: record.size, sent: undefined, attempts: 0, error: undefined, retryAt: undefined });
      return;
    }
    if (outcome.kind === 'aborted') {
      // Aborted without a user action (suspended for a new worker version): run it again.
      this.#book.move(id, 'interrupted');
      return;
    }
    // The file on disk may have changed since it was picked: from now on, only the stored copy.
    this.#book.forgetPicked(id);
    if (outcome.error.serverCode === 'FILE_DIGEST_MISMATCH') {
      // The server holds something else than the file, and dropped it: start over, each chunk checked.
      this.#fileDigests.delete(id);
      this.#book.update(id, { chunkDigests: true, fileDigest: undefined });
    }
    const next = afterFailure({
      attempts: record.attempts,
      error: outcome.error,
      early,
      now: this.#config.clock.now(),
      random: this.#config.random,
      policy: this.#config.retry,
      ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
    });
    switch (next.kind) {
      case 'wait':
        this.#book.move(id, 'transient', { attempts: next.attempts, retryAt: next.retryAt, earlyRetry: next.earlyRetry }, outcome.error);
        if (outcome.error.code === 'NETWORK' && !this.#config.isOnline()) {
          this.#config.registerSync?.().catch(() => undefined); // unsupported or denied: the timer and `online` remain
        }
        return;
      case 'hold':
        this.#book.move(id, 'transient', { attempts: next.attempts, retryAt: undefined, earlyRetry: undefined }, outcome.error);
        return;
      case 'fail':
        this.#book.move(id, 'permanent', { attempts: next.attempts, retryAt: undefined, earlyRetry: undefined }, outcome.error);
    }
  }
}

/**
 * A run aborted by `networkGone` (its signal's reason a NETWORK error) ends as that network
 * failure, not as an interruption to run again at once.
 */
function failedIfOffline(outcome: RunOutcome, signal: AbortSignal): RunOutcome {
  const reason: unknown = signal.reason;
  if (outcome.kind !== 'aborted' || !(reason instanceof UploadError) || reason.code !== 'NETWORK') return outcome;
  return { kind: 'failed', error: reason };
}
