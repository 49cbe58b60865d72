// The request and response values protocol handlers work on: no sockets, so handlers are
// tested by calling them, and other protocols (tus 1.0) sit beside this one. Our own values
// rather than fetch's Request/Response, because what happens to an unread body matters here:
// `closeConnection` says whether the adapter drains it (so an early refusal reaches the client)
// or cuts the connection (the client is gone or too slow).

export type HeaderValue = string | undefined;

/**
 * An HTTP request as protocol handlers see it. Header names are lower-case; values are the bytes
 * sent, decoded as UTF-8 where they are valid UTF-8, else as latin1 (what browsers send).
 */
export interface UploadRequest {
  readonly method: string;
  /** Path without query string, relative to the handler's base path (e.g. `/status`). */
  readonly path: string;
  readonly headers: Readonly<Record<string, HeaderValue>>;
  readonly body: AsyncIterable<Uint8Array>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** Where the handler is mounted (`''` at the root): absolute paths in answers (Location) start with it. */
  readonly basePath?: string;
  /**
   * Sends an informational (1xx) answer ahead of the final one (the draft's 104), where the
   * connection can carry one: absent for HTTP/1.0 and where no adapter provides it.
   */
  readonly inform?: (status: number, headers: Readonly<Record<string, string>>) => void;
}

/** What authorize() sees: the request without its body. */
export type RequestInfo = Omit<UploadRequest, 'body'>;

export interface UploadResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | AsyncIterable<Uint8Array>;
  /**
   * Cut the connection after answering instead of draining an unread request body: the client is
   * gone or too slow (takeover, timeout). Otherwise an unread body is read and discarded (bounded)
   * so the client, still sending, gets the answer rather than a reset.
   */
  readonly closeConnection?: boolean;
}

/** The server's injected wall-clock time (expiry, sweeps, leases), so they are tested without waiting. Not the worker's `Clock`, which also runs timers. */
export interface WallClock {
  now(): number;
}

export const systemWallClock: WallClock = { now: () => Date.now() };
