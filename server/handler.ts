// The protocol-independent core: CORS, routing to the protocol handlers, authorization, HEAD, the
// sweep timer, startup and shutdown. Each protocol is a ProtocolHandler over the shared services.
import { UploadServerError, toServerError } from './errors.js';
import { Cors } from './cors.js';
import { CompletionDelivery } from './completions.js';
import { FileStore } from './file-store.js';
import { UploadLimits } from './limits.js';
import { WriterLocks } from './locks.js';
import { DEFAULTS, checkAppendSize, type UploadServerOptions } from './options.js';
import type { UploadStorage } from './storage.js';
import type { ProtocolHandler } from './protocol.js';
import { emptyResponse, errorResponse } from './responses.js';
import { createUploadServices } from './services.js';
import { ietfDraft } from './ietf/ietf.js';
import { statusSlice } from './status-slice.js';
import { tus } from './tus/tus.js';
import { systemWallClock, type UploadRequest, type UploadResponse } from './types.js';

/**
 * Every protocol the server speaks; a request goes to the first whose paths include it and that
 * accepts it (the IETF draft and tus share `/files/`: the draft takes requests with its header).
 */
const PROTOCOLS: readonly ProtocolHandler[] = [statusSlice, ietfDraft, tus];

export interface UploadCore {
  /** Whether `path` (relative to the base path) is an API route. */
  owns(path: string): boolean;
  handle(req: UploadRequest): Promise<UploadResponse>;
  /**
   * Prepares the storage (directories, crash repair) and resumes onComplete deliveries a crash
   * interrupted. Requests wait for it anyway; await it at startup to refuse to serve when it fails.
   * A failure is not cached: the next call retries.
   */
  ready(): Promise<void>;
  /** Removes stale partial uploads now, skipping any being written; returns how many. */
  sweep(): Promise<number>;
  /**
   * Answers new requests with 503 from now on, stops the sweep and retries, and waits up to
   * `closeTimeoutMs` for onComplete hooks in flight (what they do not finish is delivered again at
   * the next start).
   */
  close(): Promise<void>;
}

export function createUploadCore(options: UploadServerOptions = {}): UploadCore {
  const clock = options.clock ?? systemWallClock;
  const logger = options.logger ?? console;
  const storage: UploadStorage = options.storage ?? new FileStore({ dir: options.uploadDir ?? DEFAULTS.uploadDir, clock });
  const locks = options.locks ?? storage.locks ?? new WriterLocks();
  const completions = new CompletionDelivery({ storage, locks, hook: options.onComplete, logger });
  const staleAfterMs = options.staleAfterMs ?? DEFAULTS.staleAfterMs;
  const interval = options.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs;
  const services = createUploadServices({
    storage,
    locks,
    completions,
    limits: new UploadLimits(options.maxUploadSize ?? DEFAULTS.maxUploadSize, options.namespaceLimits ?? {}, storage),
    deadlines: {
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      rate: {
        minBytesPerSecond: options.minBytesPerSecond ?? DEFAULTS.minBytesPerSecond,
        windowMs: options.rateWindowMs ?? DEFAULTS.rateWindowMs,
      },
    },
    takeoverTimeoutMs: options.takeoverTimeoutMs ?? DEFAULTS.takeoverTimeoutMs,
    // A monotonic clock unless one is injected (tests drive the rate with it).
    now: options.clock ? () => clock.now() : () => performance.now(),
    maxUploadSize: options.maxUploadSize ?? DEFAULTS.maxUploadSize,
    ietfAppendSize: checkAppendSize(options.ietfAppendSize),
    wallClock: () => clock.now(),
    staleAfterMs: interval > 0 ? staleAfterMs : undefined,
  });
  const cors = new Cors(options.corsOrigins, {
    request: [...PROTOCOLS.flatMap((p) => p.corsRequestHeaders), ...(options.corsAllowedHeaders ?? [])],
    response: PROTOCOLS.flatMap((p) => p.corsResponseHeaders),
  });
  let closing = false;

  let prepared: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    prepared ??= (async () => {
      await storage.init();
      await completions.resume();
    })().catch((err: unknown) => {
      prepared = undefined;
      throw err;
    });
    return prepared;
  };
  // Through the writer locks: an upload being written is skipped, and one being removed makes
  // a resuming request wait, so no byte is ever acknowledged into a deleted file.
  const sweep = async (): Promise<number> => {
    await ready();
    return storage.sweep(clock.now() - staleAfterMs, (key) => locks.tryAcquire(key));
  };
  const timer =
    interval > 0
      ? setInterval(() => {
          sweep().catch((err: unknown) => logger.error('resilient-upload: sweep failed', err));
        }, interval)
      : undefined;
  // The sweep must never keep a process alive on its own.
  timer?.unref();

  const route = async (req: UploadRequest, protocol: ProtocolHandler, methods: readonly string[]): Promise<UploadResponse> => {
    if (req.method === 'OPTIONS') {
      // A preflight names no protocol (its headers are only listed): allow what any protocol here answers.
      const allow = unique([...PROTOCOLS.flatMap((p) => p.methods(req.path) ?? []), 'OPTIONS']).join(', ');
      const preflight = req.headers['access-control-request-method'] !== undefined;
      const own = !preflight && protocol.options ? protocol.options(req, services) : emptyResponse(204);
      const origin = req.headers['origin'];
      return { ...own, headers: { ...own.headers, allow, ...(Object.keys(cors.headers(origin)).length > 0 ? cors.preflight(allow) : {}) } };
    }
    const allow = [...methods, 'OPTIONS'].join(', ');
    if (!methods.includes(req.method)) {
      const res = errorResponse(new UploadServerError('METHOD_NOT_ALLOWED'));
      return { ...res, headers: { ...res.headers, allow } };
    }
    if (closing) return errorResponse(new UploadServerError('UNAVAILABLE', 'the server is shutting down; try again shortly'));
    try {
      await ready();
    } catch (err) {
      // The reason names server paths: it goes to the log, not to the client. A store that does
      // not answer (S3) is transient: 503 with its reason, so clients retry.
      logger.error('resilient-upload: storage not ready', err);
      const unavailable = err instanceof UploadServerError && err.code === 'UNAVAILABLE';
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
    const res = await protocol.handle(req, namespace, services);
    return req.method === 'HEAD' ? { ...res, body: '' } : res;
  };

  const find = (req: Pick<UploadRequest, 'path' | 'headers'>): [ProtocolHandler, readonly string[]] | undefined => {
    for (const p of PROTOCOLS) {
      const methods = p.methods(req.path);
      if (methods && (p.accepts?.(req.headers) ?? true)) return [p, methods];
    }
    return undefined;
  };

  return {
    owns: (path) => PROTOCOLS.some((p) => p.methods(path) !== undefined),
    async handle(req) {
      const found = find(req);
      const res = found ? await route(req, ...found) : errorResponse(new UploadServerError('NOT_FOUND'));
      return { ...res, headers: { ...res.headers, ...cors.headers(req.headers['origin']) } };
    },
    ready,
    sweep,
    async close() {
      closing = true;
      clearInterval(timer);
      await completions.close(options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs);
    },
  };
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
