// The upload engine: answers page requests and owns the uploads of one worker instance.
// Everything it touches (store, fetch, clock, randomness, notifications) is injected.
import { UploadError, type PageRequest, type ReplyMap, type UploadEvent, type UploadView } from '../src/protocol/index.js';
import { checkQuota, identify, newRecord, type AddRequest, type StorageEstimateLike } from './admission.js';
import { DEFAULT_CHUNK_POLICY, type ChunkPolicy } from './chunk-size.js';
import type { Clock } from './clock.js';
import { byAge, toView, type UploadRecord } from './record.js';
import { RecordBook } from './record-book.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { Runs } from './runs.js';
import type { UploadStore } from './store.js';
import { transition, type UploadAction } from './transitions.js';
import { DEFAULT_TIMEOUT_POLICY, deleteUpload, type TimeoutPolicy } from './transport.js';

/** What the engine needs from its surroundings. */
export interface EngineDeps {
  readonly store: UploadStore;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  /** [0, 1), for backoff jitter. */
  readonly random: () => number;
  /** Receives every event for the pages. */
  readonly notify: (event: UploadEvent) => void;
  /** Asks the browser for a `sync` event when the network is back (best effort). */
  readonly registerSync?: () => Promise<void>;
  /** Endpoint of uploads added without one, e.g. the worker's origin. Relative endpoints resolve against it. */
  readonly defaultEndpoint: string;
  /** Uploads running at once (default 3). */
  readonly concurrency?: number;
  /** `navigator.storage.estimate`, checked before storing a file. */
  readonly estimate?: () => Promise<StorageEstimateLike>;
  readonly retry?: Partial<RetryPolicy>;
  readonly chunk?: Partial<ChunkPolicy>;
  readonly timeouts?: Partial<TimeoutPolicy>;
  /** Send a `Content-Digest` with every chunk (default true). */
  readonly digest?: boolean;
  /** `whenIdle` keeps waiting for retries due within this many ms (default 15 s). */
  readonly idleGraceMs?: number;
  /** Timeout of the best-effort `DELETE` on cancel (default 5 s). */
  readonly cancelTimeoutMs?: number;
  /** Upload ids (default `crypto.randomUUID`). */
  readonly newId?: () => string;
}

/** Runs uploads to completion across network loss, server errors and worker restarts. */
export class UploadEngine {
  readonly #deps: EngineDeps;
  readonly #book: RecordBook;
  readonly #runs: Runs;
  #started: Promise<void> | undefined;
  /** Adds, one at a time, so two adds of one file cannot both pass the dedup check. */
  #adding: Promise<unknown> = Promise.resolve();

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#book = new RecordBook(deps.store, () => deps.clock.now(), deps.notify);
    this.#runs = new Runs(this.#book, {
      fetch: deps.fetch,
      clock: deps.clock,
      random: deps.random,
      registerSync: deps.registerSync,
      concurrency: deps.concurrency ?? 3,
      retry: { ...DEFAULT_RETRY_POLICY, ...deps.retry },
      chunk: { ...DEFAULT_CHUNK_POLICY, ...deps.chunk },
      timeouts: { ...DEFAULT_TIMEOUT_POLICY, ...deps.timeouts },
      digest: deps.digest ?? true,
    });
  }

  /**
   * Loads the stored uploads and resumes the unfinished ones. Idempotent: call it at every
   * worker start (there is no "started" event) and before serving anything.
   */
  start(): Promise<void> {
    this.#started ??= this.#load().catch((error: unknown) => {
      this.#started = undefined; // the next event tries again
      throw error;
    });
    return this.#started;
  }

  /** Answers one page request. Rejects with `UploadError`. */
  async handle<R extends PageRequest>(request: R): Promise<ReplyMap[R['type']]> {
    await this.start();
    return (await this.#dispatch(request)) as ReplyMap[R['type']];
  }

  /** Retries waiting uploads now: the page saw `online`, or a `sync` event fired. */
  kick(_reason: 'online' | 'sync' | 'start'): void {
    const now = this.#deps.clock.now();
    for (const record of this.#book.all()) {
      if (record.state === 'waiting') this.#book.update(record.id, { retryAt: now });
    }
    this.#runs.schedule();
  }

  /** Resolves when nothing runs and no retry is due soon, writes flushed: for `event.waitUntil`. Never rejects. */
  async whenIdle(): Promise<void> {
    try {
      await this.start();
      await this.#runs.whenIdle(this.#deps.idleGraceMs ?? 15_000);
      await this.#book.flush();
    } catch {
      // nothing to keep alive for
    }
  }

  /** Snapshot of every upload, oldest first. */
  views(): UploadView[] {
    return this.#book.all().map(toView);
  }

  async #load(): Promise<void> {
    for (const record of await this.#deps.store.list()) {
      this.#book.adopt(record);
      // A previous worker died while uploading: run it again, from the server's status.
      if (record.state === 'uploading') this.#book.update(record.id, { state: transition('uploading', 'interrupted') });
      // Its Blob should be gone. A cancel writes its record, then deletes the Blob: a worker
      // stopped between the two leaves the Blob behind.
      if (record.state === 'done' || record.state === 'cancelled') this.#book.write((store) => store.deleteBlob(record.id));
    }
    this.#runs.enable();
  }

  async #dispatch(request: PageRequest): Promise<ReplyMap[keyof ReplyMap]> {
    switch (request.type) {
      case 'hello':
      case 'list':
        return this.views();
      case 'add':
        return this.#serialAdd(request);
      case 'pause':
        return this.#act(request.uploadId, 'pause', {});
      case 'resume':
        return this.#act(request.uploadId, 'resume', {});
      case 'retry':
        return this.#act(request.uploadId, 'retry', { attempts: 0, error: undefined, retryAt: undefined });
      case 'cancel':
        return this.#cancel(request.uploadId);
      case 'clear-completed':
        return this.#clearCompleted();
      case 'online':
        this.kick('online');
        return null;
      case 'ping':
        return null;
      default:
        throw new UploadError('INVALID_ARGUMENT', `Unknown request ${String((request as { type?: unknown }).type)}`);
    }
  }

  #serialAdd(request: AddRequest): Promise<UploadView> {
    const result = this.#adding.then(() => this.#add(request));
    this.#adding = result.catch(() => undefined);
    return result;
  }

  async #add(request: AddRequest): Promise<UploadView> {
    const { fileId, endpoint } = identify(request, this.#deps.defaultEndpoint);
    await this.#book.flush();
    const found = await this.#deps.store.findByFile(fileId, endpoint);
    // The same file again is the same upload (whatever its state), unless that one was cancelled.
    const existing = found.map((r) => this.#book.find(r.id) ?? r).filter((r) => r.state !== 'cancelled').sort(byAge)[0];
    if (existing !== undefined) return toView(existing);
    await checkQuota(this.#deps.estimate, request.file.size);
    const id = this.#deps.newId?.() ?? crypto.randomUUID();
    const record = newRecord(request, id, fileId, endpoint, this.#deps.clock.now());
    await this.#deps.store.add(record, request.file); // one transaction: all or nothing
    this.#book.adopt(record);
    this.#book.emit('state', record);
    this.#runs.schedule();
    return toView(this.#book.get(id));
  }

  /** pause, resume, retry: a state change, then the scheduler acts on it. */
  #act(id: string, action: UploadAction, patch: Partial<UploadRecord>): UploadView {
    const state = transition(this.#book.get(id).state, action);
    this.#book.emit('state', this.#book.update(id, { ...patch, state }));
    void this.#runs.stop(id); // a pause aborts the request in flight; the server keeps what it got
    this.#runs.schedule();
    return toView(this.#book.get(id));
  }

  /**
   * Cancel: stop the request, drop the Blob, keep the record as `cancelled`, and ask the server
   * to drop its partial data. The DELETE is best effort: when the server cannot be reached the
   * upload is still cancelled here, and the server's partial is left to its own expiry.
   */
  async #cancel(id: string): Promise<UploadView> {
    const record = this.#book.get(id);
    const state = transition(record.state, 'cancel');
    this.#book.emit('state', this.#book.update(id, { state, error: undefined, retryAt: undefined }));
    await this.#runs.stop(id); // no POST of ours may land after the DELETE
    this.#runs.forget(id);
    await this.#book.write((store) => store.deleteBlob(id));
    const signal = AbortSignal.timeout(this.#deps.cancelTimeoutMs ?? 5_000);
    await deleteUpload({ fetch: this.#deps.fetch, endpoint: record.endpoint, fileId: record.fileId, headers: record.headers, signal });
    return toView(this.#book.get(id));
  }

  async #clearCompleted(): Promise<number> {
    const gone = this.#book.all().filter((r) => (r.state === 'done' || r.state === 'cancelled') && !this.#runs.isRunning(r.id));
    for (const record of gone) {
      this.#book.remove(record.id);
      this.#runs.forget(record.id);
    }
    await this.#book.flush();
    return gone.length;
  }
}
