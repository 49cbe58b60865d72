// Protocol-independent request handling: CORS, routing, authorization, the sweep timer.
// A second protocol (tus 1.0) would be routed here beside status/slice.
import { UploadServerError, toServerError } from './errors.js';
import { corsHeaders, preflightHeaders } from './cors.js';
import { FileStore } from './file-store.js';
import { WriterLocks } from './locks.js';
import { DEFAULTS, type UploadServerOptions } from './options.js';
import { emptyResponse, errorResponse } from './responses.js';
import { STATUS_SLICE_ROUTES, handleStatusSlice, type StatusSliceContext } from './status-slice.js';
import { systemClock, type UploadRequest, type UploadResponse } from './types.js';

export interface UploadCore {
  /** Whether `path` (relative to the base path) is an API route. */
  owns(path: string): boolean;
  handle(req: UploadRequest): Promise<UploadResponse>;
  /** Removes stale partial uploads now; returns how many. */
  sweep(): Promise<number>;
  /** Stops the sweep timer. */
  close(): void;
}

export function createUploadCore(options: UploadServerOptions = {}): UploadCore {
  const clock = options.clock ?? systemClock;
  const storage = options.storage ?? new FileStore({ dir: options.uploadDir ?? DEFAULTS.uploadDir, clock });
  const ctx: StatusSliceContext = {
    storage,
    locks: new WriterLocks(),
    maxUploadSize: options.maxUploadSize ?? DEFAULTS.maxUploadSize,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    onComplete: options.onComplete,
  };
  const staleAfterMs = options.staleAfterMs ?? DEFAULTS.staleAfterMs;
  const sweep = (): Promise<number> => storage.sweep(clock.now() - staleAfterMs);
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
    sweep,
    close: () => clearInterval(timer),
  };
}
