// The Transport port: how the upload loop talks to a server, whatever the protocol. Each
// protocol is one implementation in its own module; the engine knows only this interface.
import type { UploadError, UploadProtocol } from '../../src/protocol/index.js';

/** What a transport may know of an upload. */
export interface TransportUpload {
  readonly id: string;
  readonly fileId: string;
  readonly endpoint: string;
  /** Absent: status/slice. */
  readonly protocol?: UploadProtocol;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  /** What this transport asked to keep from earlier requests (e.g. an upload URL). */
  readonly remote?: Readonly<Record<string, string>>;
}

/** One request's circumstances, decided by the caller. */
export interface RequestContext {
  /** Aborts the request: pause, cancel, or the caller's deadline. */
  readonly signal: AbortSignal;
  /** Headers for this request (stored ones and the `headers` hook's), e.g. authorisation. */
  readonly headers: Readonly<Record<string, string>>;
  /** Body bytes handed to the network so far, where the HTTP client can tell. */
  readonly onSent?: (bytes: number) => void;
}

/** A server's bounds on one append's body, in bytes. */
export interface AppendLimits {
  /** The most one append may carry. */
  readonly max?: number;
  /** The least an append that does not complete the upload may carry (one that completes it may carry less). */
  readonly min?: number;
}

export interface AppendRequest {
  /** Where `body` starts in the file; the server must hold exactly this many bytes. */
  readonly start: number;
  readonly body: Blob;
  /** SHA-256 of `body`, base64, when chunks are checked one by one. */
  readonly sha256?: string;
  /** The whole file's digest (X-File-Digest, base64), on the append that completes the upload. */
  readonly fileDigest?: string;
  /**
   * Do not complete the upload even if this append makes it whole (status/slice `X-Upload-Complete:
   * ?0`): its file digest, not known yet when the body went, follows in a body-less append.
   * Only where `streams()` said true.
   */
  readonly completeLater?: boolean;
}

export type TransportOutcome =
  /** The server holds `offset` bytes (`complete` once it holds the whole file). `remote`, when set, replaces what is kept. */
  | { readonly kind: 'offset'; readonly offset: number; readonly complete: boolean; readonly remote?: Readonly<Record<string, string>> }
  /** The server holds another offset than the request assumed (undefined when it did not say): re-sync, not a failure. */
  | { readonly kind: 'conflict'; readonly offset: number | undefined; readonly complete: boolean }
  /** Whether to try again follows from `error.code` (`error.recovery`); `retryAfterMs` when the server said. */
  | { readonly kind: 'failed'; readonly error: UploadError; readonly retryAfterMs?: number }
  /** The signal aborted the request. */
  | { readonly kind: 'aborted' };

/** What `Transport.progress` learnt: an offset, or that this server has no such thing. */
export type ProgressOutcome = TransportOutcome | { readonly kind: 'unsupported' };

export interface Transport {
  /**
   * Whether this upload's server checks a whole-file digest at completion; when not, integrity
   * takes a digest per chunk.
   */
  supportsFileDigest?(upload: TransportUpload): boolean;
  /**
   * Whether an upload no request was ever made for may begin with an append at byte 0 instead of
   * asking first: true where an append creates the upload and a server that holds other bytes
   * answers with its offset (a conflict the loop re-syncs from). Saves a round trip per file.
   */
  appendsFirst?(upload: TransportUpload): boolean;
  /**
   * What one append may carry for this upload, where its server said (the IETF draft's
   * `max-append-size` and `min-append-size`); undefined while nothing is known.
   */
  appendLimits?(upload: TransportUpload): AppendLimits | undefined;
  /**
   * Whether this upload's server reports what it made durable of a request still in flight (see
   * `progress`): true or false once an answer told, undefined before.
   */
  streams?(upload: TransportUpload): boolean | undefined;
  /**
   * The bytes the server holds durably now, taking nothing over: a request in flight on the upload
   * goes on (status/slice `GET /progress`). `unsupported` from a server without it. Lets one long
   * request carry the rest of a file with confirmed progress shown while it runs.
   */
  progress?(upload: TransportUpload, ctx: RequestContext): Promise<ProgressOutcome>;
  /**
   * A long streamed request ended with its body held whole, while `progress` never moved: something
   * between holds the body back until its end (a proxy that buffers request bodies, as nginx does
   * by default), so progress shows nothing there. From now on this server gets chunks.
   */
  unstreamed?(upload: TransportUpload): void;
  /** How many bytes the server holds (creating the upload there first when the protocol needs it). */
  status(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome>;
  /** Sends bytes from `chunk.start`. */
  append(upload: TransportUpload, chunk: AppendRequest, ctx: RequestContext): Promise<TransportOutcome>;
  /** Asks the server to drop what it holds of the upload. */
  cancel(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome>;
}
