// The one module that touches the service worker's global scope: wires its events to the engine.
import { UploadError, isRequestEnvelope, type ErrorInfo, type EventEnvelope, type ReplyEnvelope, type UploadEvent } from '../src/protocol/index.js';
import type { StorageEstimateLike } from './admission.js';
import { systemClock } from './clock.js';
import { UploadEngine, type EngineDeps } from './engine.js';
import { IdbUploadStore } from './idb-store.js';
import type { UploadStore } from './store.js';

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
/** What `installUploader` needs of the worker's global scope (a `ServiceWorkerGlobalScope` fits). */
export interface UploaderScope {
  readonly location: { readonly origin: string };
  readonly registration: { readonly active: unknown; readonly sync?: SyncManagerLike };
  readonly serviceWorker?: unknown;
  readonly navigator: { readonly storage?: { estimate?(): Promise<StorageEstimateLike> } };
  readonly clients: {
    claim(): Promise<void>;
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<ReadonlyArray<{ postMessage(message: unknown): void }>>;
  };
  skipWaiting(): Promise<void>;
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEventLike) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'sync', listener: (event: SyncEventLike) => void): void;
}

export interface InstallOptions {
  /** Base URL of the upload API; default the worker's origin (`/status`, `/upload` at the root). */
  readonly endpoint?: string;
  /** Uploads running at once (default 3). */
  readonly concurrency?: number;
  /** Call `skipWaiting()` on install so a new version takes over at once (default true). */
  readonly skipWaiting?: boolean;
  /** The worker's global scope (default `self`). */
  readonly scope?: UploaderScope;
  /** Default: IndexedDB. */
  readonly store?: UploadStore;
  /** Further engine settings (retry, chunk, timeouts, digest …). */
  readonly engine?: Partial<Omit<EngineDeps, 'store' | 'fetch' | 'clock' | 'notify' | 'defaultEndpoint'>>;
}

/**
 * Adds the uploader to a service worker: call it once at the top level of the worker script.
 * Returns the engine, e.g. to inspect uploads from other event handlers.
 */
export function installUploader(options: InstallOptions = {}): UploadEngine {
  const scope = options.scope ?? (globalThis as unknown as UploaderScope);
  const sync = scope.registration.sync;
  const storage = scope.navigator.storage;
  const engine = new UploadEngine({
    random: Math.random,
    ...(sync === undefined ? {} : { registerSync: () => sync.register(SYNC_TAG) }),
    ...(storage?.estimate === undefined ? {} : { estimate: storage.estimate.bind(storage) }),
    ...options.engine,
    store: options.store ?? new IdbUploadStore(),
    fetch: (input, init) => scope.fetch(input, init),
    clock: systemClock,
    notify: (event) => void broadcast(scope, event),
    defaultEndpoint: options.endpoint ?? scope.location.origin,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  const keepAlive = (event: ExtendableEventLike, work: Promise<unknown>): void => {
    // Uploads run inside waitUntil, or the browser stops the worker ~30 s after the last event.
    event.waitUntil(work.catch(() => undefined).then(() => engine.whenIdle()));
  };

  scope.addEventListener('install', (event) => {
    if (options.skipWaiting ?? true) event.waitUntil(scope.skipWaiting());
  });
  scope.addEventListener('activate', (event) => {
    // Not kept alive until idle: that would hold the worker in `activating` (and its fetches).
    event.waitUntil(Promise.all([scope.clients.claim(), engine.start().catch(() => undefined)]));
  });
  scope.addEventListener('message', (event) => {
    if (!isRequestEnvelope(event.data)) return;
    const { id, request } = event.data;
    const port = event.ports[0];
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
        engine.kick('sync');
        await engine.whenIdle();
        // Still waiting: reject so the browser fires `sync` again later (it backs off on its own).
        if (engine.views().some((u) => u.state === 'waiting')) throw new UploadError('NETWORK', 'Uploads are still waiting for the network');
      })(),
    );
  });

  // Top-level code runs at every worker start: an active worker was restarted, so resume now.
  if (scope.registration.active !== null && scope.registration.active === scope.serviceWorker) {
    engine.start().catch(() => undefined);
  }
  return engine;
}

function toInfo(error: unknown): ErrorInfo {
  if (error instanceof UploadError) return error.toInfo();
  return new UploadError('INTERNAL', error instanceof Error ? error.message : String(error)).toInfo();
}

/** Sends an event to every window of the origin, controlled or not (a tab opened before the worker). */
async function broadcast(scope: UploaderScope, event: UploadEvent): Promise<void> {
  const envelope: EventEnvelope = { kind: 'resilient-upload:event', event };
  try {
    const clients = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of clients) client.postMessage(envelope);
  } catch {
    // a window that went away mid-broadcast
  }
}
