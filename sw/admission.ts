// Turning an `add` request into a new record: validation, endpoint, file id, storage check.
import { UPLOAD_PROTOCOLS, UploadError, classicFileId, isValidFileId, type PageRequest, type UploadProtocol } from '../src/protocol/index.js';
import { MiB } from './chunk-size.js';
import type { UploadRecord } from './record.js';

export type AddRequest = Extract<PageRequest, { type: 'add' }>;

/** What `navigator.storage.estimate()` resolves to. */
export interface StorageEstimateLike {
  readonly quota?: number;
  readonly usage?: number;
}

/** Room kept free beyond the file itself (IndexedDB's own overhead, the record). */
export const STORAGE_MARGIN_BYTES = 1 * MiB;

/**
 * An absolute endpoint; relative ones resolve against `base`. status/slice's loses its trailing
 * slash (paths are appended to it); tus's and the draft's stay as given (a relative Location
 * resolves against them, as tus-js-client does it).
 */
export function resolveEndpoint(endpoint: string | undefined, base: string, protocol: UploadProtocol = 'status-slice'): string {
  try {
    const url = new URL(endpoint ?? base, base.endsWith('/') ? base : `${base}/`);
    return protocol === 'status-slice' ? url.href.replace(/\/+$/, '') : url.href;
  } catch (cause) {
    throw new UploadError('INVALID_ARGUMENT', `Invalid endpoint: ${String(endpoint)}`, { cause });
  }
}

/** Where uploads go when `add()` names no endpoint. */
export interface EndpointDefaults {
  readonly protocol: UploadProtocol;
  /** The worker's endpoint, for its default protocol. */
  readonly endpoint: string;
  /** The worker's origin: this project's server there serves the other protocols. */
  readonly origin: string;
}

/** For a protocol other than the worker's default, this project's server at the worker's origin (`/files/` for tus and the draft). */
function defaultEndpointOf(protocol: UploadProtocol, defaults: EndpointDefaults): string {
  if (protocol === defaults.protocol) return defaults.endpoint;
  return protocol === 'status-slice' ? defaults.origin : `${defaults.origin}/files/`;
}

/** The file's identity, protocol and endpoint, checked; throws `INVALID_ARGUMENT`. */
export function identify(request: AddRequest, defaults: EndpointDefaults): { fileId: string; endpoint: string; protocol: UploadProtocol } {
  const { file, name, lastModified, options } = request;
  const protocol = options?.protocol ?? defaults.protocol;
  if (!UPLOAD_PROTOCOLS.includes(protocol)) throw new UploadError('INVALID_ARGUMENT', `Unknown protocol ${JSON.stringify(protocol)}: use ${UPLOAD_PROTOCOLS.join(', ')}`);
  if (!(file instanceof Blob)) throw new UploadError('INVALID_ARGUMENT', 'add needs a File or Blob');
  if (typeof name !== 'string' || !Number.isFinite(lastModified)) {
    throw new UploadError('INVALID_ARGUMENT', 'add needs a name and a lastModified time');
  }
  checkHeaders(options?.headers ?? {});
  for (const [key, value] of Object.entries({ ...options?.metadata })) {
    if (typeof value !== 'string') throw new UploadError('INVALID_ARGUMENT', `Metadata ${key} is not a string`);
  }
  const fileId = options?.fileId ?? classicFileId({ name, size: file.size, lastModified });
  if (!isValidFileId(fileId)) throw new UploadError('INVALID_ARGUMENT', 'The file id is empty or longer than 1024 bytes');
  const base = defaultEndpointOf(protocol, defaults);
  return { fileId, protocol, endpoint: resolveEndpoint(options?.endpoint ?? base, base, protocol) };
}

/** Header names and values fetch accepts; throws `INVALID_ARGUMENT` for anything else. */
export function checkHeaders(headers: unknown): asserts headers is Readonly<Record<string, string>> {
  if (typeof headers !== 'object' || headers === null) throw new UploadError('INVALID_ARGUMENT', 'Headers must be an object of strings');
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new UploadError('INVALID_ARGUMENT', `Header ${key} is not a string`);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) throw new UploadError('INVALID_ARGUMENT', `Header name ${JSON.stringify(key)} is not valid`);
    if (/[\r\n\0]/.test(value)) throw new UploadError('INVALID_ARGUMENT', `Header ${key} holds a line break or NUL`);
    // fetch and XHR take header values as bytes (ByteString): anything past U+00FF throws there.
    if (/[^\u0000-\u00ff]/.test(value)) throw new UploadError('INVALID_ARGUMENT', `Header ${key} holds a character beyond U+00FF; encode it (e.g. encodeURIComponent)`);
  }
}

export function newRecord(request: AddRequest, id: string, at: { fileId: string; endpoint: string; protocol: UploadProtocol }, now: number): UploadRecord {
  return {
    id,
    fileId: at.fileId,
    endpoint: at.endpoint,
    protocol: at.protocol,
    headers: { ...request.options?.headers },
    metadata: { ...request.options?.metadata },
    name: request.name,
    type: request.file.type,
    size: request.file.size,
    lastModified: request.lastModified,
    state: 'queued',
    offset: 0,
    attempts: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Rejects with `QUOTA_EXCEEDED` when the file clearly does not fit, beside `storingBytes` of
 * files still being stored (the estimate does not count them yet). An estimate that fails or
 * lacks numbers lets the file through: the store's own quota error is the final word.
 */
export async function checkQuota(estimate: (() => Promise<StorageEstimateLike>) | undefined, bytes: number, storingBytes = 0): Promise<void> {
  if (estimate === undefined) return;
  let found: StorageEstimateLike;
  try {
    found = await estimate();
  } catch {
    return;
  }
  if (found.quota === undefined || found.usage === undefined) return;
  const free = found.quota - found.usage;
  if (bytes + storingBytes + STORAGE_MARGIN_BYTES > free) {
    const beside = storingBytes > 0 ? `, beside ${storingBytes} bytes of files still being stored,` : '';
    throw new UploadError('QUOTA_EXCEEDED', `The file needs ${bytes} bytes${beside} but only ${Math.max(0, free)} are free for this site`);
  }
}
