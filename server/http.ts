// The only module that touches node:http: turns IncomingMessage/ServerResponse into the
// request/response values of handler.ts, answers what Node's parser refuses, and runs a
// standalone server with deadlines for slow and silent clients.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { settlesWithin } from './deadline.js';
import { UploadServerError } from './errors.js';
import { createUploadCore, type UploadCore } from './handler.js';
import { DEFAULTS, type UploadLogger, type UploadServerOptions } from './options.js';
import { errorResponse } from './responses.js';
import { send } from './http-send.js';
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
  /**
   * Answers new requests with 503, lets requests in flight finish for up to `closeTimeoutMs`, then
   * cuts them (what they delivered is kept) and waits for onComplete hooks, again at most that long.
   */
  close(): Promise<void>;
  /**
   * For the server's `clientError` event (`server.on('clientError', handler.clientError)`): answers
   * what Node's HTTP parser refuses — malformed requests, oversized headers, the headers deadline —
   * with the status, `X-Error-Code` and a reason, like every other error.
   */
  clientError(err: Error, socket: Duplex): void;
}

/** How long a socket answered by clientError may stay half-closed. */
const LINGER_MS = 2_000;

/**
 * Creates the upload API handler (`<basePath>/status`, `<basePath>/progress`, `<basePath>/upload`).
 * Deadlines for slow and silent clients are the server's: see the README ("Timeouts") for
 * node:http, Express and Fastify.
 *
 * - node:http: `createServer({ requestTimeout: 0, headersTimeout: 20_000 }, handler)
 *   .on('clientError', handler.clientError)` (Node's default requestTimeout of 300 s would cut long
 *   uploads; the handler has its own idle timeout and minimum rate for bodies).
 * - Express: `app.use(createUploadHandler({ basePath: '/files' }))`; other paths go to `next()`.
 *   Mount it before any body parser: it reads the raw request stream.
 * - Fastify: leave the body unparsed and hand over the raw objects:
 *   `fastify.addContentTypeParser('*', (_req, _payload, done) => done(null));`
 *   `fastify.all('/files/*', (request, reply) => { reply.hijack(); handler(request.raw, reply.raw); });`
 *   (or `@fastify/middie` and `fastify.use(handler)`).
 */
export function createUploadHandler(options: UploadServerOptions = {}): UploadHandler {
  const core = createUploadCore(options);
  const logger = options.logger ?? console;
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs;
  const inflight = new Map<Promise<void>, AbortController>();
  let closing = false;

  const handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const rel = base === '' ? pathname : pathname.startsWith(base + '/') ? pathname.slice(base.length) : undefined;
    if (rel === undefined || !core.owns(rel)) {
      if (next) next();
      else void send(req, res, errorResponse(new UploadServerError('NOT_FOUND')), idleTimeoutMs);
      return;
    }
    if (closing) {
      void send(req, res, errorResponse(new UploadServerError('UNAVAILABLE', 'the server is shutting down; try again shortly')), idleTimeoutMs);
      return;
    }
    const controller = new AbortController();
    const p = run(core, req, res, { path: rel, basePath: base }, controller, idleTimeoutMs, logger).finally(() => inflight.delete(p));
    inflight.set(p, controller);
  };
  return Object.assign(handler, {
    ready: () => core.ready(),
    sweep: () => core.sweep(),
    clientError: answerClientError,
    close: async () => {
      closing = true;
      if (!(await settlesWithin([...inflight.keys()], closeTimeoutMs))) {
        // Each cut writer keeps and fsyncs what it received before it ends.
        for (const c of inflight.values()) c.abort(new UploadServerError('UNAVAILABLE', 'the server is shutting down'));
        if (!(await settlesWithin([...inflight.keys()], closeTimeoutMs))) {
          logger.warn(`resilient-upload: ${inflight.size} request(s) still running ${2 * closeTimeoutMs} ms after close() began`);
        }
      }
      await core.close();
    },
  });
}

async function run(
  core: UploadCore,
  req: IncomingMessage,
  res: ServerResponse,
  at: { path: string; basePath: string },
  controller: AbortController,
  idleTimeoutMs: number,
  logger: UploadLogger,
): Promise<void> {
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new UploadServerError('INTERNAL', 'the client went away'));
  });
  const value: UploadRequest = {
    method: req.method ?? 'GET',
    path: at.path,
    basePath: at.basePath,
    headers: decodeHeaders(req),
    // destroyOnReturn: false so a handler that stops reading early can still answer (413, 409).
    body: { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array> },
    signal: controller.signal,
    ...(req.httpVersionMajor === 1 && req.httpVersionMinor === 0 ? {} : { inform: (status: number, headers: Readonly<Record<string, string>>) => inform(res, status, headers) }),
  };
  let response: UploadResponse;
  try {
    response = await core.handle(value);
  } catch (err) {
    logger.error('resilient-upload: unexpected error', err);
    response = errorResponse(new UploadServerError('INTERNAL'));
  }
  // A request cut by close() is not drained: the server is going away.
  await send(req, res, controller.signal.aborted ? { ...response, closeConnection: true } : response, idleTimeoutMs);
}

/**
 * Writes an informational answer (1xx) ahead of the final one. Node has writers for 100, 102 and
 * 103 only, so the status line goes to the socket directly, as writeEarlyHints does; skipped once
 * the final answer has begun, or while the socket still carries an earlier response (pipelining).
 */
function inform(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>): void {
  const socket = res.socket;
  if (res.headersSent || res.destroyed || socket === null || socket.destroyed) return;
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? INFORMATIONAL[status] ?? 'Informational'}\r\n${lines.join('')}\r\n`);
}

/** Reason phrases Node does not know yet. */
const INFORMATIONAL: Readonly<Record<number, string>> = { 104: 'Upload Resumption Supported' };

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node hands header bytes over as latin1, one character per byte. They are read here as the UTF-8
 * they usually are (X-File-Id counts 1–1024 bytes of UTF-8); bytes that are not UTF-8 stay latin1,
 * which is what browsers send for characters up to U+00FF (a classic client's `café.jpg-…` id).
 */
function decodeHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    const value = Array.isArray(v) ? v.join(', ') : v;
    out[k] = value === undefined ? undefined : fromBytes(value);
  }
  return out;
}

function fromBytes(latin1: string): string {
  // Plain ASCII, or not from the parser (a code unit above a byte): nothing to reinterpret.
  if (!/[\u0080-\u00ff]/.test(latin1) || /[^\u0000-\u00ff]/.test(latin1)) return latin1;
  try {
    return UTF8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return latin1;
  }
}

/** See UploadHandler.clientError. */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || answering) {
    socket.destroy();
    return;
  }
  const e =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new UploadServerError('TIMEOUT', 'the request headers did not arrive in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new UploadServerError('HEADERS_TOO_LARGE')
        : new UploadServerError('BAD_REQUEST', `malformed HTTP request (${err.code ?? 'unparsable'})`);
  const body = `${e.message}\n`;
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Cache-Control: no-store\r\nX-Error-Code: ${e.code}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // A client that never closes its side does not keep the socket.
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** A running standalone server (see startServer). */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting, lets requests in flight end (then cuts them after closeTimeoutMs), keeps all data. */
  close(): Promise<void>;
}

export interface StartServerOptions extends UploadServerOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Files served for GET paths outside the API (e.g. the built demo). */
  staticDir?: string;
  /**
   * A connection must deliver a request's complete headers within this long (sockets that send
   * nothing or drip their header are answered 408 and closed). Default 20 s.
   */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long. Default 5 s. */
  keepAliveTimeoutMs?: number;
}

export const SERVER_DEFAULTS = { port: 0, host: '127.0.0.1', headersTimeoutMs: 20_000, keepAliveTimeoutMs: 5_000 } as const;

/**
 * Starts a node:http server with the upload API at `basePath` and, optionally, static files.
 * Rejects, listening on nothing, when the storage cannot be prepared (see UploadHandler.ready).
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const upload = createUploadHandler(options);
  const logger = options.logger ?? console;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
  try {
    await upload.ready();
  } catch (err) {
    await upload.close();
    throw err;
  }
  const headersTimeout = options.headersTimeoutMs ?? SERVER_DEFAULTS.headersTimeoutMs;
  const server = createServer(
    {
      // No limit on a whole request: an honest upload may take hours. Bodies have their own
      // deadlines (idle timeout, minimum rate); headers have this one.
      requestTimeout: 0,
      headersTimeout,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? SERVER_DEFAULTS.keepAliveTimeoutMs,
      // How often Node checks the headers deadline (its default, 30 s, would let it run late).
      connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      upload(req, res, () => {
        const pathname = (req.url ?? '/').split('?')[0] ?? '/';
        const found = options.staticDir ? serveStatic(options.staticDir, req.method ?? 'GET', pathname) : Promise.resolve(undefined);
        found
          .then((r) => send(req, res, r ?? errorResponse(new UploadServerError('NOT_FOUND')), idleTimeoutMs))
          .catch(() => res.destroy());
      });
    },
  );
  server.on('clientError', upload.clientError);
  const host = options.host ?? SERVER_DEFAULTS.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? SERVER_DEFAULTS.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // E.g. accept() failing with EMFILE: the server keeps running; say so instead of crashing.
  server.on('error', (err) => logger.error('resilient-upload: server error', err));
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await upload.close();
      // What is left (static files, drains of refused bodies) is cut now.
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };
  return { url: `http://${shownHost}:${port}`, port, server, close };
}
