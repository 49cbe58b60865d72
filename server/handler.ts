// Protocol-independent request handling: CORS, routing, authorization, the sweep timer.
// A second protocol (tus 1.0) would be routed here beside status/slice.
import { UploadServerError, toServerError } from './errors.js';
import { corsHeaders, preflightHeaders } from './cors.js';
import { FileStore } from './file-store.js';
import { WriterLocks } from './locks.js';
import { DEFAULTS, type UploadServerOptions } from './options.js';
import type { UploadStorage } from './storage.js';
import { emptyResponse, errorResponse } from './responses.js';
import { STATUS_SLICE_ROUTES, handleStatusSlice, type StatusSliceContext } from './status-slice.js';
import { systemClock, type UploadRequest, type UploadResponse } from './types.js';

export interface UploadCore {
  /** Whether `path` (relative to the base path) is an API route. */
  owns(path: string): boolean;
  handle(req: UploadRequest): Promise<UploadResponse>;
  /**
   * Prepares the storage (directories, crash repair). Requests wait for it anyway; await it at
   * startup to refuse to serve when it fails. A failure is not cached: the next call retries.
   */
  ready(): Promise<void>;
  /** Removes stale partial uploads now, skipping any being written; returns how many. */
  sweep(): Promise<number>;
  /** Stops the sweep timer; resolves once onComplete hooks in flight have settled. */
  close(): Promise<void>;
}

export function createUploadCore(options: UploadServerOptions = {}): UploadCore {
  const clock = options.clock ?? systemClock;
  const storage: UploadStorage = options.storage ?? new FileStore({ dir: options.uploadDir ?? DEFAULTS.uploadDir, clock });
  const locks = options.locks ?? storage.locks ?? new WriterLocks();
  const hooks = new Set<Promise<void>>();
  const ctx: StatusSliceContext = {
    storage,
    locks,
    maxUploadSize: options.maxUploadSize ?? DEFAULTS.maxUploadSize,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    onComplete: options.onComplete,
    background: (p) => {
      hooks.add(p);
      void p.finally(() => hooks.delete(p));
    },
  };
  let prepared: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    prepared ??= storage.init().catch((err: unknown) => {
      prepared = undefined;
      throw err;
    });
    return prepared;
  };
  const staleAfterMs = options.staleAfterMs ?? DEFAULTS.staleAfterMs;
  // Through the writer locks: an upload being written is skipped, and one being removed makes
  // a resuming request wait, so no byte is ever acknowledged into a deleted file.
  const sweep = async (): Promise<number> => {
    await ready();
    return storage.sweep(clock.now() - staleAfterMs, (key) => locks.tryAcquire(key));
  };
  const interval = options.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs;
  const timer =
    interval > 0
      ? setInterval(() => {
          sweep().catch((err: unknown) => console.error('resilient-upload: sweep failed', err));
        }, interval)
      : undefined;
  // The sweep must never keep a process alive on its own.
  timer?.unref();

  const handle = async (req: UploadRequest): Promise<UploadResponse> => {
    const cors = corsHeaders(options.corsOrigins, req.headers['origin']);
    const res = await route(req, cors);
    return { ...res, headers: { ...res.headers, ...cors } };
  };

  const route = async (req: UploadRequest, cors: Record<string, string>): Promise<UploadResponse> => {
    const methods = STATUS_SLICE_ROUTES[req.path];
    if (!methods) return errorResponse(new UploadServerError('NOT_FOUND'));
    const allow = [...methods, 'OPTIONS'].join(', ');
    if (req.method === 'OPTIONS') {
      return emptyResponse(204, { allow, ...(Object.keys(cors).length > 0 ? preflightHeaders() : {}) });
    }
    if (!methods.includes(req.method)) {
      const res = errorResponse(new UploadServerError('METHOD_NOT_ALLOWED'));
      return { ...res, headers: { ...res.headers, allow } };
    }
    try {
      await ready();
    } catch (err) {
      // The reason names server paths: it goes to the log, not to the client. A store that does
      // not answer (S3) is transient: 503 with its reason, so clients retry.
      console.error('resilient-upload: storage not ready', err);
      const unavailable = err instanceof UploadServerError && err.code === 'STORAGE_UNAVAILABLE';
      return errorResponse(unavailable ? err : new UploadServerError('INTERNAL'));
    }
    let namespace = '';
    try {
      if (options.authorize) {
        const { body: _body, ...info } = req;
        namespace = await options.authorize(info);
      }
    } catch (err) {
      return errorResponse(toServerError(err));
    }
    const res = await handleStatusSlice(req, namespace, ctx);
    return req.method === 'HEAD' ? { ...res, body: '' } : res;
  };

  return {
    owns: (path) => STATUS_SLICE_ROUTES[path] !== undefined,
    handle,
    ready,
    sweep,
    close: async () => {
      clearInterval(timer);
      await Promise.allSettled([...hooks]);
    },
  };
}
