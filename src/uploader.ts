import { UploadError } from './protocol/errors.js';
import { ACTIVE_STATES } from './protocol/states.js';
import { isEventEnvelope, type AddOptions, type PageRequest, type ReplyMap, type UploadEvent, type UploadView } from './protocol/messages.js';
import { Patience, request } from './rpc.js';
import { Courier } from './courier.js';
import { TypedEmitter, type Listener, type UploaderEventName } from './events.js';
import { requestPersistence, storageStatus, type StorageStatus } from './persistence.js';
import { connectWorker, type WorkerSource } from './registration.js';

/** How many of one `add(files)` call's files are with the worker at once (see `add`). */
const ADDS_IN_FLIGHT = 4;

/**
 * Which worker (`WorkerSource`: the app's registration by default, or a script the uploader
 * registers) and how the page talks to it.
 */
export interface UploaderOptions extends WorkerSource {
  /** Default base URL of the upload API for `add`. */
  readonly endpoint?: string;
  /** How long to wait for any reply from the worker (ms). Default 10 000; `add` gets `addTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Storing a large file can take longer. Default 60 000. */
  readonly addTimeoutMs?: number;
  /** Ask the browser for persistent storage. Default true. */
  readonly persist?: boolean;
  /**
   * While uploads are unfinished, ping the worker this often (ms, default 10 000): it restarts
   * a worker the browser stopped and keeps a running one alive. 0 turns it off.
   */
  readonly keepAliveMs?: number;
  /**
   * Carry upload bodies from this page with XMLHttpRequest while it is open (default true): full
   * speed and byte-level progress (`sent`). The worker decides everything and falls back to its
   * own fetch the moment the page goes away.
   */
  readonly pageAssist?: boolean;
}

/** The page's handle on the service-worker uploader. */
export interface Uploader {
  /**
   * Stores the file(s) in the worker's IndexedDB; resolves when stored, not when uploaded.
   * Several files go to the worker four at a time and are stored in order, each upload starting
   * while the files before it are still being stored; `addTimeoutMs` is how long the worker may
   * say nothing before they time out (the files not yet sent then fail with the same error).
   * When one cannot be stored (e.g. QUOTA_EXCEEDED) the call rejects, once every file was tried,
   * with the first such error (its message names the file); the others stay added (`uploads`
   * lists them).
   */
  add(file: File, options?: AddOptions): Promise<UploadView>;
  add(files: Iterable<File> | ArrayLike<File>, options?: AddOptions): Promise<UploadView[]>;
  list(): Promise<UploadView[]>;
  pause(uploadId: string): Promise<UploadView>;
  resume(uploadId: string): Promise<UploadView>;
  /** Stops the upload, deletes the stored file and the server's partial data. */
  cancel(uploadId: string): Promise<UploadView>;
  retry(uploadId: string): Promise<UploadView>;
  /**
   * Replaces the headers stored with one upload, or with every unfinished one (`'all'`), e.g. a
   * refreshed token; uploads waiting for credentials (`unauthorized`) start again.
   */
  setHeaders(uploadId: string | 'all', headers: Readonly<Record<string, string>>): Promise<UploadView[]>;
  clearCompleted(): Promise<number>;
  /** The latest view of every upload this tab knows of. */
  readonly uploads: readonly UploadView[];
  storage(): Promise<StorageStatus>;
  on<K extends UploaderEventName>(name: K, listener: Listener<K>): () => void;
  off<K extends UploaderEventName>(name: K, listener: Listener<K>): void;
  /** Stops listening to the worker; uploads go on. */
  close(): void;
}

/**
 * Connects to the service worker that runs `installUploader()`: by default the app's own
 * (`navigator.serviceWorker.ready`), or `options.registration`, or a script the uploader
 * registers (`options.serviceWorker`). Resolves after the first snapshot arrived, so `uploads`
 * already lists what other tabs or earlier visits started. Rejects with `NOT_INSTALLED` when the
 * worker does not run the uploader. Safe to import anywhere (server-side rendering, Node): where
 * there is no service worker it rejects with `NO_SERVICE_WORKER`.
 */
export async function createUploader(options: UploaderOptions = {}): Promise<Uploader> {
  const container = typeof navigator === 'undefined' ? undefined : (navigator.serviceWorker as ServiceWorkerContainer | undefined);
  if (!container) {
    throw new UploadError('NO_SERVICE_WORKER', 'Service workers are not available here (they need a browser and a secure context: https or localhost)');
  }
  const { registration, worker } = await connectWorker(container, options, options.timeoutMs ?? 10_000);
  const uploader = new PageUploader(worker, registration, container, options);
  // Not awaited: Firefox asks the user, and that prompt may stay unanswered for ever.
  if (options.persist ?? true) void requestPersistence(navigator.storage);
  await uploader.connect();
  return uploader;
}

class PageUploader implements Uploader {
  readonly #emitter = new TypedEmitter();
  readonly #views = new Map<string, UploadView>();
  readonly #options: UploaderOptions;
  readonly #container: ServiceWorkerContainer;
  readonly #registration: ServiceWorkerRegistration;
  #worker: ServiceWorker;
  readonly #onMessage = (event: MessageEvent<unknown>): void => {
    if (isEventEnvelope(event.data)) this.#apply(event.data.event);
  };
  readonly #onOnline = (): void => {
    void this.#send({ type: 'online' }).catch(() => undefined);
  };
  readonly #onOffline = (): void => {
    void this.#send({ type: 'offline' }).catch(() => undefined);
  };
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #courier: Courier | undefined;
  /** The worker instance this page's courier was offered to. */
  #courierInstance: string | undefined;

  constructor(worker: ServiceWorker, registration: ServiceWorkerRegistration, container: ServiceWorkerContainer, options: UploaderOptions) {
    this.#worker = worker;
    this.#registration = registration;
    this.#container = container;
    this.#options = options;
  }

  async connect(): Promise<void> {
    this.#container.addEventListener('message', this.#onMessage);
    this.#container.startMessages();
    globalThis.addEventListener?.('online', this.#onOnline);
    globalThis.addEventListener?.('offline', this.#onOffline);
    // `hello` also (re)starts the engine in a worker the browser had stopped.
    const snapshot = await this.#send({ type: 'hello' });
    for (const view of snapshot) this.#store(view);
    this.#emitSnapshot();
    if (this.#options.pageAssist ?? true) {
      this.#courier = new Courier({
        post: (offer, transfer) => this.#currentWorker().postMessage(offer, transfer),
        locks: (navigator as { locks?: LockManager }).locks,
        newId: () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
      });
      await this.#ping();
    }
    const every = this.#options.keepAliveMs ?? 10_000;
    if (every > 0) {
      this.#keepAlive = setInterval(() => {
        // A worker stopped mid-upload sends nothing more; only a message starts it again.
        if (this.uploads.some((u) => ACTIVE_STATES.includes(u.state))) void this.#ping();
      }, every);
    }
  }

  /** Pings the worker; a new instance (the old one was stopped) gets this page's courier offer again. */
  async #ping(): Promise<void> {
    try {
      const instance = await this.#send({ type: 'ping' });
      if (this.#courier !== undefined && instance !== this.#courierInstance) {
        this.#courierInstance = instance;
        await this.#courier.offer();
      }
    } catch {
      // The next ping tries again.
    }
  }

  get uploads(): readonly UploadView[] {
    return [...this.#views.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  add(file: File, options?: AddOptions): Promise<UploadView>;
  add(files: Iterable<File> | ArrayLike<File>, options?: AddOptions): Promise<UploadView[]>;
  async add(input: File | Iterable<File> | ArrayLike<File>, options: AddOptions = {}): Promise<UploadView | UploadView[]> {
    const files = input instanceof Blob ? [input as File] : Array.from(input as ArrayLike<File>);
    if (!files.every((file) => file instanceof Blob)) throw new UploadError('INVALID_ARGUMENT', 'add() takes File objects');
    // The adds may start a new worker instance: it needs this page's courier offer before the
    // uploads start, or they go without the page until the next keep-alive.
    if (this.#courier !== undefined) await this.#ping();
    // Several at once: the worker takes them in order and starts each upload while the files
    // before it are still being stored (one round trip and one store per file would hold each
    // next upload back). Not all: should the worker fall silent, at most four files are in an
    // unknown state, and the rest are reported not added. The worker answers each add once its file is
    // stored, one after another, so the timeout is for the worker saying nothing at all, not
    // for each answer counted from when it was asked; after one, the rest are not sent.
    const patience = new Patience(this.#options.addTimeoutMs ?? 60_000);
    const settled: PromiseSettledResult<UploadView>[] = [];
    let next = 0;
    let silent: unknown;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < files.length; i = next++) {
        if (silent !== undefined) {
          settled[i] = { status: 'rejected', reason: silent };
          continue;
        }
        try {
          settled[i] = { status: 'fulfilled', value: await this.#addOne(files[i]!, options, patience) };
        } catch (reason) {
          settled[i] = { status: 'rejected', reason };
          if (reason instanceof UploadError && reason.code === 'TIMEOUT') silent ??= reason;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ADDS_IN_FLIGHT, files.length) }, lane));
    const failed = settled.findIndex((s) => s.status === 'rejected');
    if (failed >= 0) {
      const error = (settled[failed] as PromiseRejectedResult).reason;
      throw input instanceof Blob ? error : notAdded(files[failed]!, error);
    }
    const views = settled.map((s) => (s as PromiseFulfilledResult<UploadView>).value);
    return input instanceof Blob ? views[0]! : views;
  }

  async #addOne(file: File, options: AddOptions, patience: Patience): Promise<UploadView> {
    const endpoint = options.endpoint ?? this.#options.endpoint;
    const view = await this.#send(
      {
        type: 'add',
        file,
        name: file.name,
        lastModified: file.lastModified,
        options: { ...options, ...(endpoint === undefined ? {} : { endpoint }) },
      },
      patience,
    );
    if (this.#store(view)) this.#emitSnapshot();
    return view;
  }

  list(): Promise<UploadView[]> {
    return this.#send({ type: 'list' });
  }
  pause(uploadId: string): Promise<UploadView> {
    return this.#act({ type: 'pause', uploadId });
  }
  resume(uploadId: string): Promise<UploadView> {
    return this.#act({ type: 'resume', uploadId });
  }
  cancel(uploadId: string): Promise<UploadView> {
    return this.#act({ type: 'cancel', uploadId });
  }
  retry(uploadId: string): Promise<UploadView> {
    return this.#act({ type: 'retry', uploadId });
  }
  async setHeaders(uploadId: string | 'all', headers: Readonly<Record<string, string>>): Promise<UploadView[]> {
    const views = await this.#send({ type: 'set-headers', ...(uploadId === 'all' ? {} : { uploadId }), headers });
    if (views.map((v) => this.#store(v)).some(Boolean)) this.#emitSnapshot();
    return views;
  }
  async clearCompleted(): Promise<number> {
    const removed = await this.#send({ type: 'clear-completed' });
    const fresh = await this.list();
    this.#views.clear();
    for (const view of fresh) this.#store(view);
    this.#emitSnapshot();
    return removed;
  }

  storage(): Promise<StorageStatus> {
    return storageStatus(navigator.storage);
  }

  on<K extends UploaderEventName>(name: K, listener: Listener<K>): () => void {
    return this.#emitter.on(name, listener);
  }
  off<K extends UploaderEventName>(name: K, listener: Listener<K>): void {
    this.#emitter.off(name, listener);
  }

  close(): void {
    clearInterval(this.#keepAlive);
    this.#courier?.close();
    this.#container.removeEventListener('message', this.#onMessage);
    globalThis.removeEventListener?.('online', this.#onOnline);
    globalThis.removeEventListener?.('offline', this.#onOffline);
  }

  async #act(req: Extract<PageRequest, { uploadId: string }>): Promise<UploadView> {
    const view = (await this.#send(req)) as UploadView;
    if (this.#store(view)) this.#emitSnapshot();
    return view;
  }

  #send<R extends PageRequest>(req: R, timeout: number | Patience = this.#options.timeoutMs ?? 10_000): Promise<ReplyMap[R['type']]> {
    return request(this.#currentWorker(), req, timeout);
  }

  /** A newer worker may have taken over since we connected. */
  #currentWorker(): ServiceWorker {
    this.#worker = this.#registration.active ?? this.#worker;
    return this.#worker;
  }

  /**
   * Keeps the newest view: a reply may arrive after an event it predates. Returns whether
   * anything changed (the reply to `add` repeats the `state` event: one snapshot, not two).
   */
  #store(view: UploadView): boolean {
    const known = this.#views.get(view.id);
    if (known && (known.updatedAt > view.updatedAt || sameView(known, view))) return false;
    this.#views.set(view.id, view);
    return true;
  }

  #apply(event: UploadEvent): void {
    if (event.type === 'removed') {
      this.#views.delete(event.uploadId);
      this.#emitter.emit('removed', { uploadId: event.uploadId });
      this.#emitSnapshot();
      return;
    }
    const known = this.#views.get(event.upload.id);
    // An event older than what this tab already shows (a reply overtook it) is dropped.
    if (known && known.updatedAt > event.upload.updatedAt) return;
    // `complete` and `error` repeat the view of the `state` event before them: one snapshot.
    const changed = this.#store(event.upload);
    if (event.type === 'error' || event.type === 'unauthorized') this.#emitter.emit(event.type, { upload: event.upload, error: event.error });
    else this.#emitter.emit(event.type, { upload: event.upload });
    if (changed) this.#emitSnapshot();
  }

  #emitSnapshot(): void {
    this.#emitter.emit('snapshot', { uploads: [...this.uploads] });
  }
}

function sameView(a: UploadView, b: UploadView): boolean {
  return a.updatedAt === b.updatedAt && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * One file of several failed: the error names it (same code; the worker's error is its cause).
 * A timeout says nothing of whether the worker stored it.
 */
function notAdded(file: File, error: unknown): unknown {
  if (!(error instanceof UploadError)) return error;
  const what = error.code === 'TIMEOUT' ? `“${file.name}”` : `“${file.name}” was not added`;
  return new UploadError(error.code, `${what}: ${error.message}`, { cause: error, status: error.status, serverCode: error.serverCode });
}
