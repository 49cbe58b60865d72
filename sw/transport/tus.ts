// tus 1.0 over an HttpClient (tus/tus-resumable-upload-protocol protocol.md): OPTIONS first
// (version, extensions, checksum algorithms, maximum size; once per endpoint and worker), creation
// (with the bytes when the file is small), HEAD to resume, PATCH with Upload-Checksum, DELETE on
// cancel. The upload URL lives in the upload's record (upload-url.ts). Never throws.
import { UploadError } from '../../src/protocol/index.js';
import {
  formatTusMetadata,
  parseTusList,
  TUS_CHECKSUM_ALGORITHM,
  TUS_CONTENT_TYPE,
  TUS_EXTENSION,
  TUS_MAX_SIZE,
  TUS_RESUMABLE,
  TUS_VERSION,
  TUS_VERSIONS,
  UPLOAD_CHECKSUM,
  UPLOAD_LENGTH,
  UPLOAD_METADATA,
  UPLOAD_OFFSET,
} from '../../src/protocol/tus.js';
import { parseByteCount } from '../../src/protocol/wire.js';
import { HttpExchange, type HttpExchangeOptions, type ResponseFacts } from './exchange.js';
import { failedAnswer, isSuccess as ok, malformedAnswer as serverError } from './http-errors.js';
import type { AppendRequest, RequestContext, Transport, TransportOutcome, TransportUpload } from './port.js';
import { confirmed, created, forgotten, noLocation, otherLength, SMALL_FILE_BYTES, uploadUrl, withoutUrl } from './upload-url.js';

export interface TusOptions extends HttpExchangeOptions {
  /** Chunks carry a SHA-256 (the loop's digests are on): the server must offer the sha256 checksum. */
  readonly digest: boolean;
}

/** What OPTIONS said; a header a CORS answer does not expose reads as unknown (undefined). */
export interface TusCapabilities {
  readonly versions: readonly string[] | undefined;
  readonly extensions: readonly string[] | undefined;
  readonly checksums: readonly string[] | undefined;
  readonly maxSize: number | undefined;
}

const V = { [TUS_RESUMABLE]: TUS_VERSION };

export class TusTransport implements Transport {
  readonly #http: HttpExchange;
  readonly #digest: boolean;
  /** Per endpoint, for this worker's life: a server's configuration changes rarely. */
  readonly #capabilities = new Map<string, TusCapabilities>();

  constructor(options: TusOptions) {
    this.#http = new HttpExchange(options);
    this.#digest = options.digest;
  }

  async status(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    const caps = await this.#discover(upload, ctx);
    if (!('extensions' in caps)) return caps;
    const url = uploadUrl(upload);
    if (url === undefined) {
      // A small file goes with its creation (append() does it): nothing exists yet.
      if (upload.size <= SMALL_FILE_BYTES && caps.extensions?.includes('creation-with-upload')) return { kind: 'offset', offset: 0, complete: false };
      return this.#create(upload, ctx, undefined);
    }
    const sent = await this.#http.send({ method: 'HEAD', url, headers: V }, ctx);
    if (sent.kind !== 'answer') return sent;
    const { res } = sent;
    if (res.status === 404 || res.status === 410) return forgotten(upload, res.status) ?? this.#create(withoutUrl(upload), ctx, undefined);
    if (!ok(res)) return failure(res);
    const offset = parseByteCount(res.header(UPLOAD_OFFSET) ?? '');
    if (offset === undefined) return serverError(res, 'its HEAD answer has no Upload-Offset');
    const mismatch = otherLength(upload, parseByteCount(res.header(UPLOAD_LENGTH) ?? ''));
    if (mismatch !== undefined) return mismatch;
    return { kind: 'offset', offset, complete: offset === upload.size, ...confirmed(upload) };
  }

  async append(upload: TransportUpload, chunk: AppendRequest, ctx: RequestContext): Promise<TransportOutcome> {
    const url = uploadUrl(upload);
    const headers: Record<string, string> = { ...V, 'Content-Type': TUS_CONTENT_TYPE };
    if (chunk.sha256 !== undefined) headers[UPLOAD_CHECKSUM] = `sha256 ${chunk.sha256}`;
    if (url === undefined) {
      // creation-with-upload for a file that fits in this one request; else create, and the loop
      // sends this chunk again to the new URL.
      const whole = chunk.start === 0 && chunk.body.size === upload.size;
      return this.#create(upload, ctx, whole ? { headers, body: chunk.body } : undefined);
    }
    const sent = await this.#http.send({ method: 'PATCH', url, headers: { ...headers, [UPLOAD_OFFSET]: String(chunk.start) }, body: chunk.body }, ctx);
    if (sent.kind !== 'answer') return sent;
    const { res } = sent;
    if (res.status === 404 || res.status === 410) return forgotten(upload, res.status) ?? this.#create(withoutUrl(upload), ctx, undefined);
    // 409: another offset than we assumed (a replayed PATCH, a lost answer): re-sync by HEAD.
    if (res.status === 409) return { kind: 'conflict', offset: parseByteCount(res.header(UPLOAD_OFFSET) ?? ''), complete: false };
    if (!ok(res)) return failure(res);
    const offset = parseByteCount(res.header(UPLOAD_OFFSET) ?? '');
    if (offset === undefined) return serverError(res, 'its PATCH answer has no Upload-Offset');
    return { kind: 'offset', offset, complete: offset === upload.size, ...confirmed(upload) };
  }

  async cancel(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    const url = uploadUrl(upload);
    if (url === undefined) return { kind: 'offset', offset: 0, complete: false };
    const sent = await this.#http.send({ method: 'DELETE', url, headers: V }, ctx);
    if (sent.kind !== 'answer') return sent;
    // Gone already is what termination wants.
    return ok(sent.res) || sent.res.status === 404 || sent.res.status === 410 ? { kind: 'offset', offset: 0, complete: false } : failure(sent.res);
  }

  /** POST to the endpoint; with a body, the first (here: only) chunk goes along. */
  async #create(upload: TransportUpload, ctx: RequestContext, withBody: { headers: Record<string, string>; body: Blob } | undefined): Promise<TransportOutcome> {
    const metadata = formatTusMetadata({ filename: upload.name, ...(upload.type === '' ? {} : { filetype: upload.type }) });
    const headers = { ...V, [UPLOAD_LENGTH]: String(upload.size), [UPLOAD_METADATA]: metadata, ...withBody?.headers };
    const sent = await this.#http.send({ method: 'POST', url: upload.endpoint, headers, ...(withBody === undefined ? {} : { body: withBody.body }) }, ctx);
    if (sent.kind !== 'answer') return sent;
    const { res } = sent;
    if (!ok(res)) return failure(res);
    const remote = created(res.header('Location') ?? '', upload);
    if (remote === undefined || res.header('Location') === null) return noLocation(res.status);
    const offset = withBody === undefined ? 0 : parseByteCount(res.header(UPLOAD_OFFSET) ?? '');
    if (offset === undefined) return serverError(res, 'its creation answer has no Upload-Offset');
    return { kind: 'offset', offset, complete: offset === upload.size, remote };
  }

  /** OPTIONS once per endpoint: a server this worker cannot use is a clear error before any upload. */
  async #discover(upload: TransportUpload, ctx: RequestContext): Promise<TusCapabilities | TransportOutcome> {
    let caps = this.#capabilities.get(upload.endpoint);
    if (caps === undefined) {
      const sent = await this.#http.send({ method: 'OPTIONS', url: upload.endpoint, headers: {} }, ctx);
      if (sent.kind !== 'answer') return sent;
      if (!ok(sent.res)) return failure(sent.res);
      caps = capabilitiesOf(sent.res);
      this.#capabilities.set(upload.endpoint, caps);
    }
    const refusal = refusalOf(caps, upload, this.#digest);
    return refusal === undefined ? caps : { kind: 'failed', error: new UploadError('REJECTED', `The tus server at ${upload.endpoint} ${refusal}`) };
  }
}

export function capabilitiesOf(res: ResponseFacts): TusCapabilities {
  const list = (name: string): string[] | undefined => (res.header(name) === null ? undefined : parseTusList(res.header(name)));
  return {
    versions: list(TUS_VERSIONS),
    extensions: list(TUS_EXTENSION),
    checksums: list(TUS_CHECKSUM_ALGORITHM),
    maxSize: parseByteCount(res.header(TUS_MAX_SIZE) ?? ''),
  };
}

/** Why this server cannot take this upload, or undefined. Pure. */
export function refusalOf(caps: TusCapabilities, upload: Pick<TransportUpload, 'size'>, digest: boolean): string | undefined {
  if (caps.versions !== undefined && !caps.versions.includes(TUS_VERSION)) return `speaks tus ${caps.versions.join(', ')}, not ${TUS_VERSION}`;
  if (caps.extensions !== undefined && !caps.extensions.includes('creation')) return 'cannot create uploads (no creation extension)';
  if (caps.maxSize !== undefined && upload.size > caps.maxSize) return `takes files up to ${caps.maxSize} bytes; this one has ${upload.size}`;
  if (!digest) return undefined;
  const fix = 'install the uploader with digest: false (resilient-upload-sw.js?digest=0) to upload without checksums, or turn on sha256 checksums on the server';
  if (caps.extensions !== undefined && !caps.extensions.includes('checksum')) return `checks no checksums (no checksum extension in Tus-Extension); this uploader sends SHA-256 per chunk: ${fix}`;
  if (caps.checksums === undefined) return `does not tell its checksum algorithms (Tus-Checksum-Algorithm missing or not exposed to this origin by CORS): ${fix}`;
  if (!caps.checksums.includes('sha256')) return `checks ${caps.checksums.join(', ') || 'no'} checksums, not sha256: ${fix}`;
  return undefined;
}

/** Any other answer; 412 names the versions the server speaks. */
function failure(res: ResponseFacts): TransportOutcome {
  if (res.status === 412) {
    const versions = res.header(TUS_VERSIONS);
    const error = new UploadError('REJECTED', `HTTP 412: the server does not speak tus ${TUS_VERSION}${versions === null ? '' : ` (it speaks ${versions})`}`, { status: 412 });
    return { kind: 'failed', error };
  }
  return failedAnswer(res);
}
