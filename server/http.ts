// The only module that touches node:http: turns IncomingMessage/ServerResponse into the
// request/response values of handler.ts, and runs a standalone server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UploadServerError } from './errors.js';
import { createUploadCore, type UploadCore } from './handler.js';
import type { UploadServerOptions } from './options.js';
import { errorResponse } from './responses.js';
import { serveStatic } from './static.js';
import type { UploadRequest, UploadResponse } from './types.js';

/** A node:http / Express / Connect style handler; see createUploadHandler. */
export interface UploadHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /**
   * Prepares the storage (creates directories, repairs what a crash left). Requests wait for it
   * anyway; await it before serving to fail at startup, with the reason, instead of answering 500.
   */
  ready(): Promise<void>;
  /** Runs the stale-upload sweep now; resolves to the number of uploads removed. */
  sweep(): Promise<number>;
  /** Stops the sweep timer and waits for requests in flight, then for onComplete hooks, to finish. */
  close(): Promise<void>;
}

/** An unread body beyond this is not worth draining to keep the connection: close it instead. */
const DRAIN_LIMIT = 1 << 20;

/**
 * Creates the upload API handler (`<basePath>/status`, `<basePath>/upload`).
 *
 * - node:http: `http.createServer({ requestTimeout: 0 }, createUploadHandler(opts))` (Node's
 *   default requestTimeout of 300 s would cut long uploads; the handler has its own idle timeout).
 * - Express: `app.use(createUploadHandler({ basePath: '/files' }))`; other paths go to `next()`.
 *   Mount it before any body parser: it reads the raw request stream.
 * - Fastify: leave the body unparsed and hand over the raw objects:
 *   `fastify.addContentTypeParser('*', (_req, _payload, done) => done(null));`
 *   `fastify.all('/files/*', (request, reply) => { reply.hijack(); handler(request.raw, reply.raw); });`
 *   (or `@fastify/middie` and `fastify.use(handler)`).
 */
export function createUploadHandler(options: UploadServerOptions = {}): UploadHandler {
  const core = createUploadCore(options);
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const inflight = new Set<Promise<void>>();

  const handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const rel = base === '' ? pathname : pathname.startsWith(base + '/') ? pathname.slice(base.length) : undefined;
    if (rel === undefined || !core.owns(rel)) {
      if (next) next();
      else void send(req, res, errorResponse(new UploadServerError('NOT_FOUND')));
      return;
    }
    const p = run(core, req, res, rel).finally(() => inflight.delete(p));
    inflight.add(p);
  };
  return Object.assign(handler, {
    ready: () => core.ready(),
    sweep: () => core.sweep(),
    close: async () => {
      await Promise.allSettled([...inflight]);
      await core.close();
    },
  });
}

async function run(core: UploadCore, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new UploadServerError('INTERNAL', 'the client went away'));
  });
  const value: UploadRequest = {
    method: req.method ?? 'GET',
    path,
    headers: flattenHeaders(req),
    // destroyOnReturn: false so a handler that stops reading early can still answer (413, 409).
    body: { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array> },
    signal: controller.signal,
  };
  let response: UploadResponse;
  try {
    response = await core.handle(value);
  } catch (err) {
    console.error('resilient-upload: unexpected error', err);
    response = errorResponse(new UploadServerError('INTERNAL'));
  }
  await send(req, res, response);
}

function flattenHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

async function send(req: IncomingMessage, res: ServerResponse, response: UploadResponse): Promise<void> {
  if (res.destroyed || res.headersSent) return;
  const unread = !req.complete;
  res.statusCode = response.status;
  for (const [k, v] of Object.entries(response.headers)) res.setHeader(k, v);
  if (unread && response.closeConnection) res.setHeader('connection', 'close');
  const finished = new Promise<void>((resolve) => res.once('close', resolve));
  const body = response.body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    if (!res.hasHeader('content-length')) res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  } else {
    try {
      for await (const chunk of body) {
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        if (res.destroyed) break;
      }
      res.end();
    } catch {
      res.destroy();
    }
  }
  if (unread) afterUnreadBody(req, res, response.closeConnection === true);
  await finished;
}

/**
 * The body was not read to its end. A client that is gone or idle gets its socket closed once the
 * answer is out; one still sending gets a bounded drain, so it can read the answer before the close
 * (closing with unread data makes the kernel send RST, which can destroy the answer in flight).
 */
function afterUnreadBody(req: IncomingMessage, res: ServerResponse, close: boolean): void {
  if (close) {
    res.once('finish', () => req.socket.destroy());
    return;
  }
  let drained = 0;
  req.removeAllListeners('readable');
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

/** A running standalone server (see startServer). */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting, lets requests in flight end (then cuts them after a grace period), keeps all data. */
  close(): Promise<void>;
}

export interface StartServerOptions extends UploadServerOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Files served for GET paths outside the API (e.g. the built demo). */
  staticDir?: string;
  /** How long close() waits for requests in flight before cutting them. Default 5 s. */
  closeGraceMs?: number;
}

/**
 * Starts a node:http server with the upload API at `basePath` and, optionally, static files.
 * Rejects, listening on nothing, when the storage cannot be prepared (see UploadHandler.ready).
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const upload = createUploadHandler(options);
  try {
    await upload.ready();
  } catch (err) {
    await upload.close();
    throw err;
  }
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    upload(req, res, () => {
      const pathname = (req.url ?? '/').split('?')[0] ?? '/';
      const found = options.staticDir ? serveStatic(options.staticDir, req.method ?? 'GET', pathname) : Promise.resolve(undefined);
      found
        .then((r) => send(req, res, r ?? errorResponse(new UploadServerError('NOT_FOUND'))))
        .catch(() => res.destroy());
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, options.closeGraceMs ?? 5000).unref());
      await Promise.race([upload.close(), grace]);
      // Cut what is left: each cut request's writer fsyncs what it received before ending.
      server.closeAllConnections();
      await upload.close();
      await closed;
    })();
    return closing;
  };
  return { url: `http://${shownHost}:${port}`, port, server, close };
}
