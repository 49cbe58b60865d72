// The upload engine: answers page requests and owns the uploads of one worker instance.
// It constructs nothing: the composition root (install.ts) hands it every collaborator.
import { PROTOCOL_VERSION, UploadError, type PageRequest, type ReplyMap, type UploadView } from '../src/protocol/index.js';
import { checkHeaders, checkQuota, identify, newRecord, type AddRequest, type EndpointDefaults, type StorageEstimateLike } from './admission.js';
import { abortOf, deadline, type Clock } from './clock.js';
import type { Dispatcher, HeadersSource } from './dispatcher.js';
import { askHeaders } from './headers-hook.js';
import { byAge, toView, type UploadRecord } from './record.js';
import type { RecordBook } from './record-book.js';
import { awaitsCredentials } from './schedule.js';
import type { Transport } from './transport/port.js';

/** What the engine works with, all built by the composition root. */
export interface EngineDeps {
  readonly book: RecordBook;
  readonly dispatcher: Dispatcher;
  /** For the DELETE of a cancel. */
  readonly transport: Transport;
  readonly clock: Clock;
  readonly headers: HeadersSource;
  /**
   * Protocol and endpoint of uploads added without them (e.g. status/slice at the worker's origin).
   * Relative endpoints resolve against it.
   */
  readonly defaults: EndpointDefaults;
  /** `navigator.storage.estimate`, checked before storing a file. */
  readonly estimate: (() => Promise<StorageEstimateLike>) | undefined;
  /** New upload ids. */
  readonly newId: () => string;
  /** `whenIdle` keeps waiting for retries due within this many ms. */
  readonly idleGraceMs: number;
  /** Timeout of the best-effort `DELETE` on cancel. */
  readonly cancelTimeoutMs: number;
}

/** Runs uploads to completion across network loss, server errors and worker restarts. */
export class UploadEngine {
  readonly #deps: EngineDeps;
  readonly #book: RecordBook;
  readonly #dispatcher: Dispatcher;
  #started: Promise<void> | undefined;
  #resumeTimer: unknown;
  /** No longer the registration's active worker: its runs stay stopped. */
  #retired = false;
  /** This worker instance: pages that see it change offer to carry bodies again. */
  readonly #instance: string;
  /** Adds, taken in one at a time (see `#serialAdd`). */
  #adding: Promise<unknown> = Promise.resolve();
  /** The answer of each add whose file is still being stored: the same file added again gets it too. */
  readonly #answers = new Map<string, Promise<UploadView>>();
  /** Cancels still asking the server to drop a file's bytes, by `fileKey`. */
  readonly #cancelling = new Map<string, Promise<void>>();

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#book = deps.book;
    this.#dispatcher = deps.dispatcher;
    this.#instance = deps.newId();
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
    // The handshake does not wait for start(): loading a large store may take a while, it must not.
    if (request.type !== 'handshake') await this.start();
    return (await this.#dispatch(request)) as ReplyMap[R['type']];
  }

  /**
   * The network may be back (the page saw `online`, or a `sync` event fired): uploads waiting
   * on the network try now, once per failure (the backoff holds against repeated triggers).
   */
  networkBack(): void {
    this.#dispatcher.retryEarly();
  }

  /**
   * The worker's own `headers` hook has fresh credentials: uploads waiting for them try again.
   * (From a page, `uploader.setHeaders()` does the same.)
   */
  credentialsChanged(): UploadView[] {
    const resumed = this.#book.all().filter(awaitsCredentials).map((r) => toView(this.#book.move(r.id, 'retry', { attempts: 0, retryAt: undefined })));
    this.#dispatcher.schedule();
    return resumed;
  }

  /**
   * A new version of the worker skipped waiting: the browser activates it only once this one has
   * no event in flight (Chromium waits up to 5 minutes), and every running upload holds one. So
   * stop them (offsets kept, records written) and let the new version resume them. Should no new
   * version take over within `resumeAfterMs`, this one goes on by itself.
   */
  async handOver(resumeAfterMs: number, stillActive: () => boolean = () => true): Promise<void> {
    await this.start();
    if (this.#resumeTimer !== undefined) this.#deps.clock.clearTimeout(this.#resumeTimer);
    await this.#dispatcher.suspend();
    await this.#book.flush();
    this.#resumeTimer = this.#deps.clock.setTimeout(() => {
      this.#resumeTimer = undefined;
      // The new version took over after all (its activation came late): it runs the uploads now.
      if (this.#retired || !stillActive()) return;
      this.#dispatcher.enable();
    }, resumeAfterMs);
  }

  /**
   * This worker is no longer the registration's active one (`redundant`): its uploads belong to the
   * version that replaced it, which runs them from the same records. Stop them here for good.
   */
  async retire(): Promise<void> {
    this.#retired = true;
    if (this.#resumeTimer !== undefined) this.#deps.clock.clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    await this.#dispatcher.suspend();
    await this.#book.flush();
  }

  /** Resolves when nothing runs and no retry is due soon, writes flushed: for `event.waitUntil`. Never rejects. */
  async whenIdle(): Promise<void> {
    try {
      await this.start();
      await this.#dispatcher.whenIdle(this.#deps.idleGraceMs);
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
    for (const record of await this.#book.load()) {
      // A previous worker died while uploading: run it again, from the server's status.
      if (record.state === 'uploading') this.#book.move(record.id, 'interrupted');
      // Its file should be gone. A cancel writes its record, then drops the file: a worker
      // stopped between the two leaves the file behind.
      if (record.state === 'done' || record.state === 'cancelled') void this.#book.dropFile(record.id);
    }
    if (!this.#retired) this.#dispatcher.enable();
  }

  async #dispatch(request: PageRequest): Promise<ReplyMap[keyof ReplyMap]> {
    switch (request.type) {
      case 'handshake':
        return { protocol: PROTOCOL_VERSION };
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
        return this.#act(request.uploadId, 'retry', { attempts: 0, retryAt: undefined });
      case 'cancel':
        return this.#cancel(request.uploadId);
      case 'clear-completed':
        return this.#clearCompleted();
      case 'set-headers':
        return this.#setHeaders(request.uploadId, request.headers);
      case 'online':
        this.networkBack();
        return null;
      case 'offline':
        this.#dispatcher.networkGone();
        return null;
      case 'ping':
        // Only starts a stopped worker (and keeps a running one alive): never a retry.
        return this.#instance;
      default:
        throw new UploadError('INVALID_ARGUMENT', `Unknown request ${String((request as { type?: unknown }).type)}`);
    }
  }

  /**
   * Adds are taken in one at a time, up to the point where the upload is known, so two adds of
   * one file cannot both pass the dedup check; their files are then stored, one at a time, while
   * the next adds are taken in (a page adding 20 files need not wait for each store).
   */
  #serialAdd(request: AddRequest): Promise<UploadView> {
    const admitted = this.#adding.then(() => this.#admit(request));
    this.#adding = admitted.catch(() => undefined);
    return admitted.then((admission) => admission.answer);
  }

  /** Takes an add in; `answer` settles once its file is stored (wrapped: not awaited here). */
  async #admit(request: AddRequest): Promise<{ readonly answer: Promise<UploadView> }> {
    const at = identify(request, this.#deps.defaults);
    // The same file again is the same upload (whatever its state), unless that one was cancelled;
    // while that one is being stored, both adds answer when it is.
    const existing = this.#book.byFile(at.fileId, at.endpoint).filter((r) => r.state !== 'cancelled').sort(byAge)[0];
    if (existing !== undefined) return { answer: this.#answers.get(existing.id) ?? Promise.resolve(toView(existing)) };
    // Files still being stored will take their room too.
    await checkQuota(this.#deps.estimate, request.file.size, this.#book.storingBytes());
    const record = newRecord(request, this.#deps.newId(), at, this.#deps.clock.now());
    const stored = this.#book.add(record, request.file); // all or nothing
    this.#dispatcher.added(record.id);
    // A cancel of this file still asking the server to drop its bytes goes first: no byte of this
    // upload may reach the server before that DELETE (other files' adds do not wait for it).
    const cancelling = this.#cancelling.get(fileKey(at.fileId, at.endpoint));
    if (cancelling !== undefined) this.#dispatcher.holdUntil(record.id, cancelling);
    // Sending starts from the page's File while it is being stored: the store no longer delays the
    // first byte. The page hears back only once the file is stored.
    this.#dispatcher.schedule();
    const answer = this.#answer(record.id, stored);
    this.#answers.set(record.id, answer);
    void answer.then(
      () => this.#answers.delete(record.id),
      () => this.#answers.delete(record.id),
    );
    return { answer };
  }

  async #answer(id: string, stored: Promise<UploadRecord>): Promise<UploadView> {
    try {
      return toView(await stored);
    } catch (error) {
      // Finished meanwhile (a small file): the server holds it and the pages were told; a finished
      // upload needs no stored file, so keep its record and answer with it.
      if (this.#book.find(id)?.state === 'done') return toView(this.#book.keepFinished(id));
      // Nothing of it is stored, so it was never added: forget it and stop its requests. No DELETE:
      // the server may hold bytes of this file id that another upload sent (the first POST at 0
      // re-syncs to them); what this one sent is swept with the server's stale partials.
      this.#book.discard(id);
      await this.#dispatcher.stop(id);
      this.#dispatcher.forget(id);
      throw error;
    }
  }

  /** pause, resume, retry: a state change, then the dispatcher acts on it. */
  #act(id: string, action: 'pause' | 'resume' | 'retry', patch: Partial<UploadRecord>): UploadView {
    const record = this.#book.move(id, action, patch);
    void this.#dispatcher.stop(id); // a pause aborts the request in flight; the server keeps what it got
    this.#dispatcher.schedule();
    return toView(record);
  }

  #setHeaders(id: string | undefined, headers: Readonly<Record<string, string>>): UploadView[] {
    checkHeaders(headers);
    const targets = id === undefined ? this.#book.all().filter((r) => r.state !== 'done' && r.state !== 'cancelled') : [this.#book.get(id)];
    const views = targets.map((record) => {
      const updated = this.#book.update(record.id, { headers: { ...headers } });
      // New credentials end a wait for them; any other state keeps its course.
      if (awaitsCredentials(updated)) return toView(this.#book.move(record.id, 'retry', { attempts: 0, retryAt: undefined }));
      this.#book.emit('state', updated);
      return toView(updated);
    });
    this.#dispatcher.schedule();
    return views;
  }

  /**
   * Cancel: stop the request, drop the file, keep the record as `cancelled`, and ask the server
   * to drop its partial data. The DELETE is best effort: when the server cannot be reached the
   * upload is still cancelled here, and the server's partial is left to its own expiry.
   */
  async #cancel(id: string): Promise<UploadView> {
    const record = this.#book.move(id, 'cancel', { error: undefined, retryAt: undefined });
    // The same file added again meanwhile starts no request before this ends: its first bytes
    // must not reach the server before the DELETE of this file id.
    const key = fileKey(record.fileId, record.endpoint);
    const cancelling = this.#cancelRequests(record);
    this.#cancelling.set(key, cancelling);
    try {
      await cancelling;
    } finally {
      if (this.#cancelling.get(key) === cancelling) this.#cancelling.delete(key);
    }
    // Gone meanwhile if it was cancelled while being stored and the store failed.
    return toView(this.#book.find(id) ?? record);
  }

  async #cancelRequests(cancelled: UploadRecord): Promise<void> {
    await this.#dispatcher.stop(cancelled.id); // no request of ours may land after the DELETE
    // As the run left it: an answer that came while it was being stopped may have named the
    // upload on the server (a tus or IETF creation), which the DELETE must name.
    const record = this.#book.find(cancelled.id) ?? cancelled;
    this.#dispatcher.forget(record.id);
    const written = this.#book.written(record.id);
    // Not waited for (a worker stopped before it runs drops the file of a cancelled upload when it starts).
    void this.#book.dropFile(record.id);
    // The server drops its bytes only once the store says `cancelled`: a crash in between must not
    // bring back, from byte 0, an upload the user cancelled. The wait is for a store in flight (this
    // file's own, or one other file's) and lasts cancelTimeoutMs at most: then the DELETE goes anyway.
    // Should the store not take the `cancelled` record, it is tried again, then the stored record
    // removed: rather none than one a restart would bring back unfinished, its file gone. This goes
    // on after the deadline too (only the DELETE stops waiting for it).
    const saving = written.then(async (saved) => saved || (await this.#book.resave(record.id)) || (await this.#book.unstore(record.id)));
    const waited = deadline(this.#deps.clock, this.#deps.cancelTimeoutMs, new AbortController().signal);
    try {
      await Promise.race([saving, abortOf(waited.signal)]);
    } finally {
      waited.dispose();
    }
    const limit = deadline(this.#deps.clock, this.#deps.cancelTimeoutMs, new AbortController().signal);
    try {
      // The app's headers hook gets the same deadline: a hook that never answers must not hold
      // the cancel (nor a new upload of this file) for ever.
      const hook = (): Promise<Readonly<Record<string, string>>> => Promise.resolve(this.#deps.headers(toView(record), record.headers));
      const headers = await askHeaders(hook, this.#deps.clock, this.#deps.cancelTimeoutMs, limit.signal).catch(() => record.headers);
      await this.#deps.transport.cancel(record, { signal: limit.signal, headers: headers ?? record.headers });
    } finally {
      limit.dispose();
    }
  }

  async #clearCompleted(): Promise<number> {
    // Not one still being stored: its add has yet to answer, with the upload as it then stands.
    const gone = this.#book.all().filter((r) => (r.state === 'done' || r.state === 'cancelled') && !this.#dispatcher.isRunning(r.id) && !this.#book.isStoring(r.id));
    // Memory is what every page reads; each delete lands after the upload's earlier writes (not
    // waited for).
    for (const record of gone) {
      this.#book.remove(record.id);
      this.#dispatcher.forget(record.id);
    }
    return gone.length;
  }
}

/** One file at one endpoint: what the server knows an upload by. */
function fileKey(fileId: string, endpoint: string): string {
  return JSON.stringify([fileId, endpoint]);
}
