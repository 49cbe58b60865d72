// The composition root and the one module that touches the service worker's global scope:
// builds the store, transport, record book, dispatcher and engine, and wires the scope's events
// to them. Defaults (IndexedDB, fetch, the real clock) are chosen here and nowhere else.
import {
  UploadError,
  isCourierOffer,
  isHandOverEnvelope,
  isRequestEnvelope,
  isSkipWaitingMessage,
  type ErrorInfo,
  type HandOverEnvelope,
  type ReplyEnvelope,
  type UploadProtocol,
  type UploadView,
} from '../src/protocol/index.js';
import { resolveEndpoint, type EndpointDefaults, type StorageEstimateLike } from './admission.js';
import { broadcaster } from './broadcast.js';
import { DEFAULT_CHUNK_POLICY, type ChunkPolicy } from './chunk-size.js';
import { systemClock, type Clock } from './clock.js';
import { CourierHttpClient, CourierPool, type LocksLike } from './couriers.js';
import { Dispatcher, type HeadersSource } from './dispatcher.js';
import { UploadEngine } from './engine.js';
import { IdbRecordStore } from './idb-record-store.js';
import { RecordBook } from './record-book.js';
import type { RecordStore } from './record-store.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import type { Transport } from './transport/port.js';
import { fetchCorsProbe } from './transport/exchange.js';
import { FetchHttpClient, type HttpClient } from './transport/http-client.js';
import { IetfTransport } from './transport/ietf.js';
import { ProtocolRouter } from './transport/router.js';
import { StatusSliceTransport } from './transport/status-slice.js';
import { TusTransport } from './transport/tus.js';
import { DEFAULT_TIMEOUT_POLICY, type TimeoutPolicy } from './transport/timeouts.js';

/** Background Sync tag the uploader registers and answers. */
export const SYNC_TAG = 'resilient-upload';

// The part of ServiceWorkerGlobalScope the uploader uses, declared here so that the module also
// typechecks under the DOM lib (tests) and a fake scope needs no casts. Background Sync is in
// no TypeScript lib at all.
interface SyncManagerLike {
  register(tag: string): Promise<void>;
}
export interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
export interface SyncEventLike extends ExtendableEventLike {
  readonly tag: string;
}
export interface MessageEventLike extends ExtendableEventLike {
  readonly data: unknown;
  readonly ports: readonly MessagePort[];
  readonly source: { postMessage(message: unknown): void } | null;
}
/** Another version of this worker, as the scope's registration shows it. */
export interface WorkerVersionLike {
  readonly state: string;
  postMessage(message: unknown): void;
  addEventListener(type: 'statechange', listener: () => void): void;
  removeEventListener(type: 'statechange', listener: () => void): void;
}
/** What `installUploader` needs of the worker's global scope (a `ServiceWorkerGlobalScope` fits). */
export interface UploaderScope {
  readonly location: { readonly origin: string };
  readonly registration: {
    readonly active: WorkerVersionLike | null;
    readonly waiting?: WorkerVersionLike | null;
    readonly installing?: WorkerVersionLike | null;
    readonly sync?: SyncManagerLike;
  };
  readonly serviceWorker?: unknown;
  readonly navigator: { readonly onLine?: boolean; readonly storage?: { estimate?(): Promise<StorageEstimateLike> }; readonly locks?: LocksLike };
  readonly clients: {
    claim(): Promise<void>;
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<ReadonlyArray<{ postMessage(message: unknown): void }>>;
  };
  readonly indexedDB?: IDBFactory;
  readonly crypto?: { readonly subtle?: unknown; randomUUID?(): string; getRandomValues<T extends ArrayBufferView>(array: T): T };
  skipWaiting(): Promise<void>;
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEventLike) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'sync', listener: (event: SyncEventLike) => void): void;
}

/** Headers for an upload's next request, merged over the ones stored with it (e.g. a fresh token). */
export type HeadersHook = (upload: UploadView) => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;

export interface InstallOptions {
  /**
   * Where uploads go by default: for `status-slice` the API's base URL (default the worker's
   * origin: `/status`, `/upload` at the root); for `tus` and `ietf` the creation URL (default
   * `<origin>/files/`).
   */
  readonly endpoint?: string;
  /** The protocol of uploads added without one (default `status-slice`); `add(file, { protocol })` chooses per upload. */
  readonly protocol?: UploadProtocol;
  /** Uploads running at once (default 3). */
  readonly concurrency?: number;
  /** Call `skipWaiting()` on install so a new version takes over at once (default true). */
  readonly skipWaiting?: boolean;
  /**
   * Called before every request of an upload; its headers go over the stored ones. A worker
   * with its own token source keeps credentials fresh this way with no tab open. A rejection
   * with an `UploadError` fails the request with its code (`UNAUTHORIZED` waits for credentials).
   */
  readonly headers?: HeadersHook;
  /** `fetch` credentials: `'same-origin'` (default), or `'include'` for cookie sessions on another origin. */
  readonly credentials?: RequestCredentials;
  /**
   * Let open pages carry upload bodies with XMLHttpRequest (default true): full speed and
   * byte-level progress while a tab is open; the worker's own fetch otherwise.
   */
  readonly pageAssist?: boolean;
  /** Let the server check the bytes it received against the file (default true). */
  readonly digest?: boolean;
  /**
   * How (default `'file'`): one digest of the whole file checked at completion, so chunks stream at
   * full speed (a mismatch starts the upload over, each chunk checked); or `'chunks'`: a digest per
   * chunk, each checked before it is kept (smaller chunks, hashing on the way).
   */
  readonly integrity?: 'file' | 'chunks';
  /**
   * How IndexedDB keeps files: `'blob'` (default; falls back to ArrayBuffer chunks when the
   * engine cannot store the Blob) or `'chunks'` (always). Ignored with `store`.
   */
  readonly files?: 'blob' | 'chunks';
  readonly retry?: Partial<RetryPolicy>;
  readonly chunk?: Partial<ChunkPolicy>;
  readonly timeouts?: Partial<TimeoutPolicy>;
  /** `whenIdle` (the worker's keep-alive) waits for retries due within this many ms (default 15 s). */
  readonly idleGraceMs?: number;
  /** Timeout of the best-effort `DELETE` on cancel (default 5 s). */
  readonly cancelTimeoutMs?: number;
  /** The worker's global scope (default `self`). */
  readonly scope?: UploaderScope;
  /** Default: IndexedDB. */
  readonly store?: RecordStore;
  /** Default: each upload's protocol (status/slice, tus, the IETF draft) over the scope's `fetch`. */
  readonly transport?: Transport;
  /** Tests: time, randomness and ids. */
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly newId?: () => string;
}

/**
 * Adds the uploader to a service worker: call it once at the top level of the worker script.
 * Returns the engine, e.g. to inspect uploads from other event handlers. Throws `UploadError`
 * `UNSUPPORTED` when the worker lacks what the options need (IndexedDB; Web Crypto for digests).
 */
export function installUploader(options: InstallOptions = {}): UploadEngine {
  const scope = options.scope ?? (globalThis as unknown as UploaderScope);
  const clock = options.clock ?? systemClock;
  const digest = options.digest ?? true;
  if (digest && scope.crypto?.subtle === undefined) {
    throw new UploadError('UNSUPPORTED', 'This worker has no Web Crypto (crypto.subtle) to hash chunks: serve it over https, or pass digest: false');
  }
  const store = options.store ?? new IdbRecordStore({ factory: requireIndexedDb(scope), files: options.files ?? 'blob' });
  const newId = options.newId ?? uuidSource(scope);
  const credentials = options.credentials ?? 'same-origin';
  const couriers = new CourierPool({ clock, locks: scope.navigator.locks, newId });
  const fetchClient = new FetchHttpClient((input, init) => scope.fetch(input, init), credentials);
  const http = (options.pageAssist ?? true) ? new CourierHttpClient(couriers, fetchClient, credentials) : fetchClient;
  const transport = options.transport ?? transports(scope, http, credentials, digest);
  const hook = options.headers;
  const headers: HeadersSource = async (upload, stored) => (hook === undefined ? stored : { ...stored, ...(await hook(upload)) });
  const book = new RecordBook(store, () => clock.now(), broadcaster(scope.clients));
  const sync = scope.registration.sync;
  const dispatcher = new Dispatcher({
    book,
    transport,
    clock,
    random: options.random ?? Math.random,
    headers,
    concurrency: options.concurrency ?? 3,
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    chunk: { ...DEFAULT_CHUNK_POLICY, ...options.chunk },
    timeouts: { ...DEFAULT_TIMEOUT_POLICY, ...options.timeouts },
    digest,
    integrity: options.integrity ?? 'file',
    // Background Sync exists in Chromium only; elsewhere the timer and the page's `online` remain.
    ...(sync === undefined ? {} : { registerSync: () => sync.register(SYNC_TAG) }),
    isOnline: () => scope.navigator.onLine !== false,
  });
  const storage = scope.navigator.storage;
  const engine = new UploadEngine({
    book,
    dispatcher,
    transport,
    clock,
    headers,
    defaults: defaultsOf(options, scope.location.origin),
    estimate: storage?.estimate === undefined ? undefined : storage.estimate.bind(storage),
    newId,
    idleGraceMs: options.idleGraceMs ?? 15_000,
    cancelTimeoutMs: options.cancelTimeoutMs ?? 5_000,
  });
  wireEvents(scope, engine, couriers, options.skipWaiting ?? true);
  return engine;
}

function wireEvents(scope: UploaderScope, engine: UploadEngine, couriers: CourierPool, skipWaiting: boolean): void {
  const keepAlive = (event: ExtendableEventLike, work: Promise<unknown>): void => {
    // Uploads run inside waitUntil, or the browser stops the worker ~30 s after the last event.
    event.waitUntil(work.catch(() => undefined).then(() => engine.whenIdle()));
  };
  scope.addEventListener('install', (event) => {
    if (!skipWaiting) return;
    event.waitUntil(scope.skipWaiting());
    askToHandOver(scope);
  });
  scope.addEventListener('activate', (event) => {
    // Not kept alive until idle: that would hold the worker in `activating` (and its fetches).
    event.waitUntil(Promise.all([scope.clients.claim(), engine.start().catch(() => undefined)]));
  });
  scope.addEventListener('message', (event) => {
    // The app's update prompt makes this (waiting) version skip waiting: the active one must let go.
    if (isSkipWaitingMessage(event.data)) askToHandOver(scope);
    if (isHandOverEnvelope(event.data)) {
      const stillActive = (): boolean => scope.serviceWorker === undefined || scope.registration.active === scope.serviceWorker;
      event.waitUntil(newVersionInstalled(scope.registration).then((installed) => (installed ? engine.handOver(HAND_OVER_GRACE_MS, stillActive) : undefined)));
      return;
    }
    const port = event.ports[0];
    if (isCourierOffer(event.data) && port !== undefined) {
      couriers.add(event.data, port);
      keepAlive(event, engine.start());
      return;
    }
    if (!isRequestEnvelope(event.data)) return;
    const { id, request } = event.data;
    const reply = (envelope: ReplyEnvelope): void => {
      if (port !== undefined) port.postMessage(envelope);
      else event.source?.postMessage(envelope);
    };
    const work = engine.handle(request).then(
      (result) => reply({ kind: 'resilient-upload:reply', id, ok: true, result }),
      (error: unknown) => reply({ kind: 'resilient-upload:reply', id, ok: false, error: toInfo(error) }),
    );
    keepAlive(event, work);
  });
  scope.addEventListener('sync', (event) => {
    if (event.tag !== SYNC_TAG) return;
    event.waitUntil(
      (async () => {
        await engine.start();
        engine.networkBack();
        await engine.whenIdle();
        // Still waiting: reject so the browser fires `sync` again later (it backs off on its own).
        if (engine.views().some((u) => u.state === 'waiting')) throw new UploadError('NETWORK', 'Uploads are still waiting for the network');
      })(),
    );
  });
  // Replaced by a newer version (activated, perhaps after this one went on past its hand-over):
  // two workers must not run the same uploads. Where `serviceWorker` is missing, the browser
  // ends a redundant worker soon after its events.
  const me = scope.serviceWorker as Partial<WorkerVersionLike> | undefined;
  me?.addEventListener?.('statechange', () => {
    if (me.state === 'redundant') void engine.retire();
  });
  // Top-level code runs at every worker start: an active worker was restarted, so resume now.
  if (scope.registration.active !== null && scope.registration.active === scope.serviceWorker) {
    engine.start().catch(() => undefined);
  }
}

/** How long a worker that handed its uploads over waits for the new version before it goes on. */
const HAND_OVER_GRACE_MS = 10_000;

/**
 * This version skips waiting: the active one holds an event for each running upload, and the
 * browser activates this one only when those end (Chromium: or after 5 minutes). Ask it to stop
 * them; this version resumes them once active.
 */
function askToHandOver(scope: UploaderScope): void {
  const active = scope.registration.active;
  if (active === null || active === scope.serviceWorker) return;
  const envelope: HandOverEnvelope = { kind: 'resilient-upload:hand-over' };
  active.postMessage(envelope);
}

/** Whether the version that asked for the hand-over got installed (false: it failed). */
function newVersionInstalled(registration: UploaderScope['registration']): Promise<boolean> {
  if (registration.waiting) return Promise.resolve(true);
  const installing = registration.installing;
  if (!installing) return Promise.resolve(false);
  return new Promise((resolve) => {
    const check = (): void => {
      if (installing.state === 'installing') return;
      installing.removeEventListener('statechange', check);
      resolve(installing.state !== 'redundant');
    };
    installing.addEventListener('statechange', check);
    check();
  });
}

/** Every protocol over the same client, each upload sent to its own; CORS refusals told from the network by the scope's fetch. */
function transports(scope: UploaderScope, http: HttpClient, credentials: RequestCredentials, digest: boolean): Transport {
  const corsProbe = fetchCorsProbe((input, init) => scope.fetch(input, init), credentials, scope.location.origin);
  return new ProtocolRouter({
    'status-slice': new StatusSliceTransport(http),
    tus: new TusTransport({ http, corsProbe, digest }),
    ietf: new IetfTransport({ http, corsProbe }),
  });
}

/** The default protocol and its endpoint: ours at the worker's origin unless given. */
function defaultsOf(options: InstallOptions, origin: string): EndpointDefaults {
  const protocol = options.protocol ?? 'status-slice';
  const endpoint = options.endpoint ?? (protocol === 'status-slice' ? origin : `${origin}/files/`);
  return { protocol, endpoint: resolveEndpoint(endpoint, origin, protocol), origin };
}

function requireIndexedDb(scope: UploaderScope): IDBFactory {
  const factory = scope.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) throw new UploadError('UNSUPPORTED', 'This worker has no IndexedDB to keep files in (private browsing?)');
  return factory;
}

/** `crypto.randomUUID` where it exists (secure contexts of current engines), else random bytes. */
function uuidSource(scope: UploaderScope): () => string {
  const crypto = scope.crypto;
  if (crypto?.randomUUID !== undefined) return () => crypto.randomUUID!();
  return () => {
    const bytes =
      typeof crypto?.getRandomValues === 'function' ? crypto.getRandomValues(new Uint8Array(16)) : Uint8Array.from({ length: 16 }, () => Math.floor(Math.random() * 256));
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

function toInfo(error: unknown): ErrorInfo {
  if (error instanceof UploadError) return error.toInfo();
  return new UploadError('INTERNAL', error instanceof Error ? error.message : String(error), { cause: error }).toInfo();
}
