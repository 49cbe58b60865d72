// Finding the service worker that runs the uploader: the app's own registration, or one the
// uploader registers itself; then a handshake that proves the worker calls installUploader().
import { UploadError } from './protocol/errors.js';
import { request } from './rpc.js';

/** Where the uploader's service worker comes from. */
export interface WorkerSource {
  /**
   * A script URL the uploader registers itself (e.g. the shipped `/resilient-upload-sw.js`), for
   * a page that has no service worker of its own. Leave it out when the app registers its worker.
   */
  readonly serviceWorker?: string;
  /** Registration scope with `serviceWorker`; defaults to the script's directory. */
  readonly scope?: string;
  /**
   * The app's own registration (from `navigator.serviceWorker.register`, workbox-window or
   * vite-plugin-pwa's `onRegisteredSW`), a promise of it, or `'ready'` (the default without
   * `serviceWorker`): whatever worker `navigator.serviceWorker.ready` gives. The uploader never
   * registers a worker then; the app's worker must call `installUploader()`.
   */
  readonly registration?: ServiceWorkerRegistration | Promise<ServiceWorkerRegistration> | 'ready';
  /**
   * How long to wait for the worker to be registered and active (ms, default 60 000): a new
   * worker may precache the whole app before it activates.
   */
  readonly readyTimeoutMs?: number;
}

export interface ConnectedWorker {
  readonly registration: ServiceWorkerRegistration;
  readonly worker: ServiceWorker;
}

/** Resolves with the registration and its active worker, once that worker answered the handshake. */
export async function connectWorker(container: ServiceWorkerContainer, source: WorkerSource, timeoutMs: number): Promise<ConnectedWorker> {
  const readyMs = source.readyTimeoutMs ?? 60_000;
  const registration = await registrationOf(container, source, readyMs);
  await activeWorker(registration, readyMs);
  const worker = await handshake(registration, timeoutMs);
  return { registration, worker };
}

async function registrationOf(container: ServiceWorkerContainer, source: WorkerSource, readyMs: number): Promise<ServiceWorkerRegistration> {
  const given = source.registration;
  if (source.serviceWorker !== undefined) {
    if (given !== undefined) throw new UploadError('INVALID_ARGUMENT', 'Pass either serviceWorker (the uploader registers it) or registration (the app registers its worker), not both');
    return register(container, source.serviceWorker, source.scope);
  }
  if (given === undefined || given === 'ready') {
    return withTimeout(
      container.ready,
      readyMs,
      () =>
        new UploadError(
          'NO_SERVICE_WORKER',
          `No service worker became active for this page within ${readyMs} ms (navigator.serviceWorker.ready): register your app's worker ` +
            `(which calls installUploader()), or let the uploader register its own with createUploader({ serviceWorker: '/resilient-upload-sw.js' })`,
        ),
    );
  }
  return given;
}

/**
 * Registers the uploader's own worker, unless that would replace another worker of the same
 * scope: a scope has one worker, so a second script would silently evict the app's.
 */
async function register(container: ServiceWorkerContainer, script: string, scope: string | undefined): Promise<ServiceWorkerRegistration> {
  const scriptUrl = new URL(script, location.href);
  // As register() resolves them: a scope against the page, the default against the script.
  const scopeUrl = scope === undefined ? new URL('./', scriptUrl).href : new URL(scope, location.href).href;
  const existing = await container.getRegistration(scopeUrl).catch(() => undefined);
  const current = existing?.active ?? existing?.waiting ?? existing?.installing;
  // Another query is the same script with other settings (the shipped worker's): updated in place.
  if (existing?.scope === scopeUrl && current && new URL(current.scriptURL).pathname !== scriptUrl.pathname) {
    throw new UploadError(
      'INVALID_ARGUMENT',
      `The scope ${scopeUrl} already has the service worker ${current.scriptURL}; registering ${scriptUrl.href} would replace it. ` +
        `Call installUploader() in that worker and create the uploader with registration: 'ready' instead of serviceWorker`,
    );
  }
  try {
    return await container.register(scriptUrl.href, scope === undefined ? {} : { scope });
  } catch (cause) {
    throw new UploadError('NO_SERVICE_WORKER', `Could not register the service worker ${script}`, { cause });
  }
}

/** The registration's active worker; waits for one being installed to activate. */
function activeWorker(registration: ServiceWorkerRegistration, timeoutMs: number): Promise<ServiceWorker> {
  if (registration.active) return Promise.resolve(registration.active);
  let cleanup = (): void => undefined;
  const activated = new Promise<ServiceWorker>((resolve, reject) => {
    const watched = new Set<ServiceWorker>();
    const check = (): void => {
      if (registration.active) return resolve(registration.active);
      const pending = [registration.installing, registration.waiting].filter((w): w is ServiceWorker => w !== null);
      if (pending.length === 0 && [...watched].every((w) => w.state === 'redundant')) {
        reject(new UploadError('NO_SERVICE_WORKER', `The service worker ${[...watched][0]?.scriptURL ?? ''} failed to install (its console says why)`));
      }
      for (const worker of pending) {
        if (watched.has(worker)) continue;
        watched.add(worker);
        worker.addEventListener('statechange', check);
      }
    };
    registration.addEventListener('updatefound', check);
    cleanup = () => {
      registration.removeEventListener('updatefound', check);
      for (const worker of watched) worker.removeEventListener('statechange', check);
    };
    check();
  });
  return withTimeout(activated, timeoutMs, () => new UploadError('TIMEOUT', `The service worker did not activate within ${timeoutMs} ms`)).finally(cleanup);
}

/**
 * A worker without installUploader() ignores our messages, so silence is the only sign: the
 * handshake is answered before the worker loads anything, and a worker that says nothing in
 * `timeoutMs` does not run the uploader. A worker replaced while we waited is asked again.
 */
async function handshake(registration: ServiceWorkerRegistration, timeoutMs: number): Promise<ServiceWorker> {
  for (let asked = 1; ; asked++) {
    const worker = registration.active;
    if (!worker) throw new UploadError('NO_SERVICE_WORKER', 'The service worker went away (unregistered)');
    try {
      await request(worker, { type: 'handshake' }, timeoutMs);
      return worker;
    } catch (error) {
      // An uploader from before the handshake answers that it does not know the request.
      if (error instanceof UploadError && error.code === 'INVALID_ARGUMENT') return worker;
      if (!(error instanceof UploadError) || error.code !== 'TIMEOUT') throw error;
      if (registration.active !== worker && asked < 3) continue;
      throw new UploadError(
        'NOT_INSTALLED',
        `The service worker ${worker.scriptURL} does not run the uploader (no answer to its handshake within ${timeoutMs} ms). ` +
          `Add it to that worker: import { installUploader } from 'resilient-upload/sw'; installUploader(); ` +
          `or, in a classic worker, importScripts('/resilient-upload-sw.js') with the file the package ships`,
      );
    }
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, error: () => UploadError): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
