// The IETF draft "Resumable Uploads for HTTP", interop version 8, over an injected fetch, the way
// a browser can: fetch never shows the 104 that would name the upload during a creation, so a
// file is created with an empty body first (or with all of it, when small: nothing to resume),
// then HEAD and PATCH (application/partial-upload); DELETE on cancel. Content-Digest (RFC 9530)
// carries each chunk's SHA-256. The upload URL lives in the record (upload-url.ts). Never throws.
import { UploadError } from '../../src/protocol/index.js';
import {
  formatContentDisposition,
  formatSfBoolean,
  INTEROP_VERSION,
  PARTIAL_UPLOAD_TYPE,
  parseSfBoolean,
  parseSfInteger,
  parseUploadLimit,
  UPLOAD_COMPLETE,
  UPLOAD_DRAFT_INTEROP_VERSION,
  UPLOAD_LIMIT,
  type UploadLimit,
} from '../../src/protocol/ietf.js';
import { HttpExchange, type HttpExchangeOptions, type ResponseFacts } from './exchange.js';
import { failedAnswer, isSuccess, malformedAnswer } from './http-errors.js';
import type { AppendLimits, AppendRequest, RequestContext, Transport, TransportOutcome, TransportUpload } from './port.js';
import { confirmed, created, forgotten, noLocation, otherLength, SMALL_FILE_BYTES, uploadUrl, withoutUrl } from './upload-url.js';

const V = { [UPLOAD_DRAFT_INTEROP_VERSION]: String(INTEROP_VERSION) };

export type IetfOptions = HttpExchangeOptions;

export class IetfTransport implements Transport {
  readonly #http: HttpExchange;
  /** `Upload-Limit`'s bounds on one append by upload URL, as the server last said (creation, HEAD or append). */
  readonly #appendLimits = new Map<string, AppendLimits>();
  /** Appends (URL, start, size) refused once for the bounds their answer announced. */
  readonly #refused = new Set<string>();

  constructor(options: IetfOptions) {
    this.#http = new HttpExchange(options);
  }

  appendLimits(upload: TransportUpload): AppendLimits | undefined {
    const url = uploadUrl(upload);
    return url === undefined ? undefined : this.#appendLimits.get(url);
  }

  async status(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    const url = uploadUrl(upload);
    if (url === undefined) {
      // A small file is created with all its bytes (append() does it): nothing exists yet.
      if (upload.size <= SMALL_FILE_BYTES) return { kind: 'offset', offset: 0, complete: false };
      return this.#create(upload, ctx, undefined);
    }
    const sent = await this.#http.send({ method: 'HEAD', url, headers: V }, ctx);
    if (sent.kind !== 'answer') return sent;
    const { res } = sent;
    if (res.status === 404 || res.status === 410) return forgotten(upload, res.status) ?? this.#create(withoutUrl(upload), ctx, undefined);
    if (!isSuccess(res)) return failure(res);
    this.#noteLimit(url, limitOf(res));
    const offset = parseSfInteger(res.header('Upload-Offset'));
    if (offset === undefined) return malformedAnswer(res, 'its offset retrieval has no Upload-Offset');
    const mismatch = otherLength(upload, parseSfInteger(res.header('Upload-Length')));
    if (mismatch !== undefined) return mismatch;
    return { kind: 'offset', offset, complete: parseSfBoolean(res.header(UPLOAD_COMPLETE)) === true, ...confirmed(upload) };
  }

  async append(upload: TransportUpload, chunk: AppendRequest, ctx: RequestContext): Promise<TransportOutcome> {
    const url = uploadUrl(upload);
    const last = chunk.start + chunk.body.size === upload.size;
    const digest: Record<string, string> = chunk.sha256 === undefined ? {} : { 'Content-Digest': `sha-256=:${chunk.sha256}:` };
    if (url === undefined) {
      // The whole file in its creation; else create first, and the loop sends this chunk again.
      const whole = chunk.start === 0 && last;
      return this.#create(upload, ctx, whole ? { body: chunk.body, digest } : undefined);
    }
    const headers = {
      ...V,
      ...digest,
      'Content-Type': PARTIAL_UPLOAD_TYPE,
      'Upload-Offset': String(chunk.start),
      'Upload-Length': String(upload.size),
      [UPLOAD_COMPLETE]: formatSfBoolean(last),
    };
    const sent = await this.#http.send({ method: 'PATCH', url, headers, body: chunk.body }, ctx);
    if (sent.kind !== 'answer') return sent;
    const { res } = sent;
    const limit = limitOf(res);
    this.#noteLimit(url, limit);
    const tooBig = tooLarge(limit, upload);
    if (tooBig !== undefined) return tooBig;
    if (brokeBounds(res.status, limit, chunk.body.size, last)) {
      // Refused for bounds the server announces now (its limits changed): re-sync, and the loop
      // sizes the next append by them. The same append refused twice: the server's answers
      // disagree with each other (e.g. its HEAD announces other bounds), nothing to adapt to.
      const key = `${url} ${chunk.start} ${chunk.body.size}`;
      if (this.#refused.has(key)) return failure(res);
      this.#refused.add(key);
      return { kind: 'conflict', offset: undefined, complete: false };
    }
    if (res.status === 404 || res.status === 410) return forgotten(upload, res.status) ?? this.#create(withoutUrl(upload), ctx, undefined);
    // 409 carries the right offset: re-sync in one round trip.
    if (res.status === 409) return { kind: 'conflict', offset: parseSfInteger(res.header('Upload-Offset')), complete: false };
    return this.#appended(res, upload, chunk.start + chunk.body.size);
  }

  async cancel(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    const url = uploadUrl(upload);
    if (url === undefined) return { kind: 'offset', offset: 0, complete: false };
    const sent = await this.#http.send({ method: 'DELETE', url, headers: V }, ctx);
    if (sent.kind !== 'answer') return sent;
    return isSuccess(sent.res) || sent.res.status === 404 || sent.res.status === 410 ? { kind: 'offset', offset: 0, complete: false } : failure(sent.res);
  }

  /** A creation: empty (Upload-Complete: ?0) to learn the URL before sending bytes, or the whole file (?1). */
  async #create(upload: TransportUpload, ctx: RequestContext, whole: { body: Blob; digest: Record<string, string> } | undefined): Promise<TransportOutcome> {
    const headers = {
      ...V,
      ...whole?.digest,
      [UPLOAD_COMPLETE]: formatSfBoolean(whole !== undefined),
      'Upload-Length': String(upload.size),
      'Content-Disposition': formatContentDisposition(upload.name),
      ...(upload.type === '' ? {} : { 'Content-Type': upload.type }),
    };
    const sent = await this.#http.send({ method: 'POST', url: upload.endpoint, headers, body: whole?.body ?? new Blob([]) }, ctx);
    if (sent.kind !== 'answer') return sent;
    const { res } = sent;
    const location = res.header('Location');
    const remote = location === null ? undefined : created(location, upload);
    const limit = limitOf(res);
    if (whole !== undefined) {
      // A small file sent whole before the server's bounds were known, and refused for them: append
      // within them, to the upload the refusal names if it made one, else to one created empty.
      if (brokeBounds(res.status, limit, whole.body.size, true) && tooLarge(limit, upload) === undefined) {
        if (remote === undefined) return this.#create(upload, ctx, undefined);
        this.#noteLimit(remote['url']!, limit);
        return { kind: 'offset', offset: parseSfInteger(res.header('Upload-Offset')) ?? 0, complete: false, remote };
      }
      const answer = this.#appended(res, upload, upload.size);
      // Not completed after all (the server kept part of it): resume at its Location.
      return answer.kind === 'offset' && !answer.complete && remote !== undefined ? { ...answer, remote } : answer;
    }
    if (!isSuccess(res)) return failure(res);
    const tooBig = tooLarge(limit, upload);
    if (tooBig !== undefined) return tooBig;
    if (remote === undefined) return noLocation(res.status);
    this.#noteLimit(remote['url']!, limit);
    return { kind: 'offset', offset: parseSfInteger(res.header('Upload-Offset')) ?? 0, complete: false, remote };
  }

  /**
   * Keeps the server's bounds on one append for the upload at `url`. An answer with `Upload-Limit`
   * replaces what an earlier one said (limits can change); one without it changes nothing.
   */
  #noteLimit(url: string, limit: UploadLimit | undefined): void {
    if (limit === undefined) return;
    const max = limit['max-append-size'];
    const min = limit['min-append-size'];
    this.#appendLimits.set(url, { ...(max !== undefined && max > 0 ? { max } : {}), ...(min !== undefined && min > 0 ? { min } : {}) });
  }

  /** The answer to bytes sent: the final answer (Upload-Complete: ?1), or the offset acknowledged. */
  #appended(res: ResponseFacts, upload: TransportUpload, end: number): TransportOutcome {
    const complete = parseSfBoolean(res.header(UPLOAD_COMPLETE)) === true;
    if (complete) {
      if (isSuccess(res)) return { kind: 'offset', offset: upload.size, complete: true };
      // "The representation was fully transmitted, but an error occurred while processing it.
      // Resuming the upload would not resolve this error."
      return { kind: 'failed', error: new UploadError('REJECTED', `HTTP ${res.status}: the server received the whole file but refused it: ${res.text.trim().slice(0, 300)}`, { status: res.status }) };
    }
    if (!isSuccess(res)) return failure(res);
    // Upload-Offset is optional in append answers: a 2xx acknowledges the whole body.
    return { kind: 'offset', offset: parseSfInteger(res.header('Upload-Offset')) ?? end, complete: false, ...confirmed(upload) };
  }
}

/** An answer's `Upload-Limit`, undefined when absent or malformed (the field is then ignored). */
function limitOf(res: ResponseFacts): UploadLimit | undefined {
  return parseUploadLimit(res.header(UPLOAD_LIMIT));
}

/** A 400 or 413 whose Upload-Limit bounds one append so that a body of `bytes` (completing the upload or not) breaks them. */
function brokeBounds(status: number, limit: UploadLimit | undefined, bytes: number, completes: boolean): boolean {
  if (status !== 400 && status !== 413) return false;
  const max = limit?.['max-append-size'];
  const min = limit?.['min-append-size'];
  return (max !== undefined && bytes > max) || (!completes && min !== undefined && bytes > 0 && bytes < min);
}

/** `Upload-Limit: max-size` below this file: the client "SHOULD stop ... and cancel the upload". */
function tooLarge(limit: UploadLimit | undefined, upload: TransportUpload): TransportOutcome | undefined {
  const max = limit?.['max-size'];
  if (max === undefined || upload.size <= max) return undefined;
  return { kind: 'failed', error: new UploadError('REJECTED', `The server takes files up to ${max} bytes (Upload-Limit); this one has ${upload.size}`) };
}

/** Any other answer; 412 is a server that speaks another interop version. */
function failure(res: ResponseFacts): TransportOutcome {
  if (res.status === 412) {
    const error = new UploadError('REJECTED', `HTTP 412: the server does not speak interop version ${INTEROP_VERSION} of the resumable-upload draft: ${res.text.trim().slice(0, 300)}`, { status: 412 });
    return { kind: 'failed', error };
  }
  return failedAnswer(res);
}
