// What a protocol handler is (status/slice, tus 1.0, the IETF draft), and the
// shared services it is given. A protocol parses its own requests and shapes its own answers; the
// rules every protocol must obey alike — takeover, body deadlines, size and namespace limits,
// completion and onComplete delivery — live behind UploadServices, outside any protocol. CORS,
// routing, authorize and HEAD are the core's (handler.ts).
import type { Lease } from './locks.js';
import type { AppendSizeLimits } from './options.js';
import type { CompletedUpload, UploadRef, UploadStatus, UploadStorage } from './storage.js';
import type { UploadRequest, UploadResponse } from './types.js';

export interface ProtocolHandler {
  /** Methods answered at `path` (relative to the base path), or undefined when the path is not this protocol's. */
  methods(path: string): readonly string[] | undefined;
  /**
   * Whether a request to one of its paths is this protocol's, when protocols share paths (the
   * IETF draft takes requests with its interop header, tus the others). Absent: all of them.
   */
  accepts?(headers: UploadRequest['headers']): boolean;
  /**
   * Answers a non-preflight OPTIONS (capabilities: tus's Tus-*, the draft's Upload-Limit), before
   * authorize (a preflight carries no credentials, nor does discovery need them). Absent: 204.
   */
  options?(req: UploadRequest, services: UploadServices): UploadResponse;
  /** Request headers a cross-origin page sends to this protocol, and response headers it must read. */
  readonly corsRequestHeaders: readonly string[];
  readonly corsResponseHeaders: readonly string[];
  /** Answers one request, already routed to it, authorized, for uploads of `namespace`. Never throws. */
  handle(req: UploadRequest, namespace: string, services: UploadServices): Promise<UploadResponse>;
}

/** One append, as a protocol asks for it once it has checked the offset. */
export interface AppendRequest {
  /** Where the protocol found the upload, under the lease (undefined: a new upload). */
  readonly held: UploadStatus | undefined;
  /** Must equal the bytes held. */
  readonly start: number;
  /** The whole file's size, when the client declared it. */
  readonly size?: number | undefined;
  readonly name?: string | undefined;
  readonly digest?: Uint8Array | undefined;
  /** Content-Length, when sent: lets limits refuse before a byte is read. */
  readonly contentLength?: number | undefined;
  /** The most this one body may carry, where the protocol bounds it (bytes past it: TOO_LARGE). */
  readonly maxBytes?: number | undefined;
  /** The protocol completes the upload before it answers when this body makes it whole (see AppendOptions.completing). */
  readonly completing?: boolean | undefined;
}

export interface UploadServices {
  readonly storage: UploadStorage;
  /** Largest upload accepted, in bytes (what tus's Tus-Max-Size and the draft's max-size announce). */
  readonly maxUploadSize: number;
  /** Bounds on one IETF append (the draft's min-append-size/max-append-size), checked. */
  readonly ietfAppendSize: AppendSizeLimits;
  /**
   * When an unfinished upload written now is swept at the earliest (`at`, ms since epoch; `afterMs`
   * from now), or undefined when no sweep runs: what tus's Upload-Expires and the draft's max-age say.
   */
  expiry(): { readonly at: number; readonly afterMs: number } | undefined;
  /**
   * A takeover point: ends any older request on this upload, waits (bounded) for it to let go,
   * and returns the lease; release it when done. Rejects with UNAVAILABLE when the older one does
   * not let go in time. Hold it around everything that reads or changes the upload.
   */
  takeOver(ref: UploadRef): Promise<Lease>;
  /** The request body, ended on takeover, client abort, idle timeout or too slow a rate. */
  body(req: UploadRequest, lease: Lease): AsyncIterable<Uint8Array>;
  /**
   * Appends the request's body under `lease`, within the size limits and the namespace's limits
   * (TOO_LARGE, TOO_MANY_UPLOADS, TOO_MANY_BYTES), with the body deadlines; see UploadStorage.append.
   */
  append(ref: UploadRef, req: UploadRequest, lease: Lease, append: AppendRequest): Promise<{ offset: number }>;
  /**
   * Whether the `size` bytes the upload holds have the whole-file digest `expected` (X-File-Digest,
   * sent with the request that completes it). Under the lease, before `complete`.
   */
  matchesDigest(ref: UploadRef, size: number, expected: Uint8Array): Promise<boolean>;
  /**
   * Completes the upload under `lease` and has onComplete delivered after the reply. Should the
   * completion fail (disk full), it is retried in the background until it succeeds, and delivered.
   */
  complete(ref: UploadRef): Promise<CompletedUpload>;
}
