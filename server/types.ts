// The request and response values protocol handlers work on: no sockets, so handlers are
// tested by calling them, and a second protocol (tus 1.0) can sit beside this one.

export type HeaderValue = string | undefined;

/** An HTTP request as protocol handlers see it. Header names are lower-case. */
export interface UploadRequest {
  readonly method: string;
  /** Path without query string, relative to the handler's base path (e.g. `/status`). */
  readonly path: string;
  readonly headers: Readonly<Record<string, HeaderValue>>;
  readonly body: AsyncIterable<Uint8Array>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** What authorize() sees: the request without its body. */
export type RequestInfo = Omit<UploadRequest, 'body'>;

export interface UploadResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | AsyncIterable<Uint8Array>;
  /**
   * The connection should not be reused: the request body was left unread because the
   * client is gone or idle (takeover, timeout).
   */
  readonly closeConnection?: boolean;
}

/** Injected time source, so sweeps are tested without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
