// Messages between the page library and the service worker. Every request carries an id
// and gets exactly one reply; events flow from the worker to every client.
import type { ErrorInfo } from './errors.js';
import type { UploadState } from './states.js';

/**
 * The wire protocol of an upload: `status-slice` (this project's server: `<endpoint>/status`,
 * `<endpoint>/upload`), `tus` (tus 1.0: the endpoint is the creation URL, e.g. `…/files/`), or
 * `ietf` (the IETF draft "Resumable Uploads for HTTP", interop version 8; the endpoint is where
 * uploads are created).
 */
export type UploadProtocol = 'status-slice' | 'tus' | 'ietf';

export const UPLOAD_PROTOCOLS: readonly UploadProtocol[] = ['status-slice', 'tus', 'ietf'];

/** What the page sees of an upload. Never contains the Blob. */
export interface UploadView {
  readonly id: string;
  readonly fileId: string;
  readonly endpoint: string;
  readonly protocol: UploadProtocol;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly state: UploadState;
  /** Bytes the server confirmed. */
  readonly offset: number;
  readonly attempts: number;
  readonly error?: ErrorInfo;
  /**
   * Bytes handed to the network (the server confirmed `offset` of them), while a request is under
   * way; known where the carrier can tell (a page's XMLHttpRequest, for page-assisted uploads).
   */
  readonly sent?: number;
  /** Measured upload rate in bytes/s, when known. */
  readonly bytesPerSecond?: number;
  /** When the engine will try again (epoch ms), for `waiting` uploads. */
  readonly retryAt?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface AddOptions {
  /**
   * Where to upload: for `status-slice` the base URL of the API (`<endpoint>/status`,
   * `<endpoint>/upload`); for `tus` and `ietf` the URL uploads are created at (e.g. `…/files/`).
   * Default: the worker's, for the upload's protocol.
   */
  readonly endpoint?: string;
  /** The wire protocol (default: the worker's, `installUploader({ protocol })`, itself `status-slice` by default). */
  readonly protocol?: UploadProtocol;
  /**
   * Extra request headers, e.g. authorisation, sent with every request of this upload (status,
   * each slice, and the DELETE of a cancel). Whatever the server must know goes here. A token
   * expires: replace them with `uploader.setHeaders()`, or give the worker a `headers` hook.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The page's own notes about the upload (e.g. an album). They stay in the browser: kept in the
   * upload record and shown in every `UploadView`, but NOT sent to the server, which is told only
   * the file's name (and, over tus and the IETF draft, its type). For data the server needs, use `headers`.
   */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Defaults to the classic `name-size-lastModified`. */
  readonly fileId?: string;
}

/** Version of the page ↔ worker messages, in the handshake's reply. */
export const PROTOCOL_VERSION = 1;

export type PageRequest =
  /**
   * Answered at once, before the worker loads anything from IndexedDB: a worker that does not
   * answer it does not run `installUploader` (the page says so with `NOT_INSTALLED`).
   */
  | { readonly type: 'handshake' }
  | { readonly type: 'hello' }
  | { readonly type: 'add'; readonly file: File | Blob; readonly name: string; readonly lastModified: number; readonly options: AddOptions }
  | { readonly type: 'list' }
  | { readonly type: 'pause'; readonly uploadId: string }
  | { readonly type: 'resume'; readonly uploadId: string }
  | { readonly type: 'cancel'; readonly uploadId: string }
  | { readonly type: 'retry'; readonly uploadId: string }
  | { readonly type: 'clear-completed' }
  /**
   * Replaces the stored headers of one upload, or of every unfinished one (`uploadId` omitted),
   * and resumes those waiting for credentials.
   */
  | { readonly type: 'set-headers'; readonly uploadId?: string; readonly headers: Readonly<Record<string, string>> }
  /** The page saw `online` (no such event reaches the worker). */
  | { readonly type: 'online' }
  /**
   * The page saw `offline`: requests under way stop and their uploads wait for the network (a
   * request already sending is not always failed by the browser: devtools' offline lets it run).
   */
  | { readonly type: 'offline' }
  /**
   * Sent by open pages while uploads are unfinished: it starts a worker the browser stopped,
   * and each message's waitUntil keeps a running one alive.
   */
  | { readonly type: 'ping' };

/** What each request resolves to. */
export interface ReplyMap {
  handshake: { readonly protocol: number };
  hello: UploadView[];
  add: UploadView;
  list: UploadView[];
  pause: UploadView;
  resume: UploadView;
  cancel: UploadView;
  retry: UploadView;
  'clear-completed': number;
  'set-headers': UploadView[];
  online: null;
  offline: null;
  /** The worker instance's id: a page that sees it change offers itself as a courier again. */
  ping: string;
}

/** Envelope of a request sent over a MessageChannel port. */
export interface RequestEnvelope {
  readonly kind: 'resilient-upload:request';
  readonly id: string;
  readonly request: PageRequest;
}

export type ReplyEnvelope =
  | { readonly kind: 'resilient-upload:reply'; readonly id: string; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'resilient-upload:reply'; readonly id: string; readonly ok: false; readonly error: ErrorInfo };

export type UploadEvent =
  | { readonly type: 'progress'; readonly upload: UploadView }
  | { readonly type: 'state'; readonly upload: UploadView }
  | { readonly type: 'complete'; readonly upload: UploadView }
  | { readonly type: 'error'; readonly upload: UploadView; readonly error: ErrorInfo }
  /** The server refused the credentials (401/403): the upload waits for `setHeaders` or a user action. */
  | { readonly type: 'unauthorized'; readonly upload: UploadView; readonly error: ErrorInfo }
  | { readonly type: 'removed'; readonly uploadId: string };

/** Broadcast from the worker to every window client. */
export interface EventEnvelope {
  readonly kind: 'resilient-upload:event';
  readonly event: UploadEvent;
}

/**
 * From a new version of the worker that skips waiting to the active one: stop the uploads in
 * flight so the browser can activate the new version now; it resumes them.
 */
export interface HandOverEnvelope {
  readonly kind: 'resilient-upload:hand-over';
}

export function isHandOverEnvelope(data: unknown): data is HandOverEnvelope {
  return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'resilient-upload:hand-over';
}

/** What workbox-window's `messageSkipWaiting()` (and vite-plugin-pwa's update prompt) sends the waiting worker. */
export function isSkipWaitingMessage(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'SKIP_WAITING';
}

export function isRequestEnvelope(data: unknown): data is RequestEnvelope {
  return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'resilient-upload:request';
}

export function isReplyEnvelope(data: unknown): data is ReplyEnvelope {
  return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'resilient-upload:reply';
}

export function isEventEnvelope(data: unknown): data is EventEnvelope {
  return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'resilient-upload:event';
}

// Page-assisted uploads. An open page offers itself as a courier: it sends a `courier` envelope
// with a MessagePort; over that port the worker hands it HTTP requests with bodies (a Blob of the
// stored file), the page sends them with XMLHttpRequest (full speed, upload progress) and reports
// progress and the answer. The worker stays the owner of every record, state and event.

/** Page → worker (over `postMessage`, with the port in `ports[0]`). */
export interface CourierOffer {
  readonly kind: 'resilient-upload:courier';
  readonly courierId: string;
  /** A Web Lock the page holds while it lives; undefined where the page has no Web Locks. */
  readonly lifeLock?: string;
}

/** An HTTP request the courier sends. */
export interface CourierRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Blob;
  /** `include` sends cookies cross-origin (XMLHttpRequest `withCredentials`). */
  readonly credentials: 'omit' | 'same-origin' | 'include';
}

/** Worker → courier, over the port. */
export type CourierCommand =
  /** `jobLock`: the courier holds this Web Lock while it works on the job, so the worker learns at once if the page goes away. */
  | { readonly kind: 'job'; readonly jobId: string; readonly jobLock: string; readonly request: CourierRequest }
  | { readonly kind: 'abort'; readonly jobId: string };

/** Courier → worker, over the port. */
export type CourierReport =
  /** The courier holds the job's lock and has started sending. */
  | { readonly kind: 'accepted'; readonly jobId: string; readonly locked: boolean }
  | { readonly kind: 'progress'; readonly jobId: string; readonly sent: number }
  | { readonly kind: 'answer'; readonly jobId: string; readonly status: number; readonly statusText: string; readonly headers: Readonly<Record<string, string>>; readonly text: string }
  /** No answer came (network error, abort): `error` is the platform's. */
  | { readonly kind: 'failed'; readonly jobId: string; readonly error: { readonly name: string; readonly message: string } }
  /** Sent at least every second while a job runs, for engines without Web Locks. */
  | { readonly kind: 'alive' };

export function isCourierOffer(data: unknown): data is CourierOffer {
  return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'resilient-upload:courier';
}
