// The status/slice wire protocol (GET /status, POST /upload with X-Start-Byte, DELETE /upload)
// over an injected fetch. Never throws for HTTP or network trouble: every call resolves to an
// outcome. The caller owns deadlines (through ctx.signal).
import {
  H_CONTENT_DIGEST,
  H_ERROR_CODE,
  H_FILE_DIGEST,
  H_FILE_ID,
  H_FILE_NAME,
  H_FILE_SIZE,
  H_START_BYTE,
  H_UPLOAD_COMPLETE,
  H_UPLOAD_OFFSET,
  PROGRESS_PATH,
  encodeHeaderText,
  parseByteCount,
  parseComplete,
  UploadError,
} from '../../src/protocol/index.js';
import type { HttpClient, HttpResponse } from './http-client.js';
import { httpError, noAnswer, parseRetryAfter } from './http-errors.js';
import type { AppendRequest, ProgressOutcome, RequestContext, Transport, TransportOutcome, TransportUpload } from './port.js';

/** What a response looked like, as the pure classifier needs it. */
export type ResponseFacts = Pick<HttpResponse, 'status' | 'header' | 'text'> & { readonly statusText?: string };

/** A 409 that comes from the server having taken this file id for a file of another size: re-syncing would loop. */
const PERMANENT_CONFLICTS: ReadonlySet<string> = new Set(['SIZE_MISMATCH']);

/** Probes unanswered while the server answered other requests before it counts as one without GET /progress. */
const PROBE_REFUSALS = 2;

/** Answers to `GET /progress` that mean the server has no such path (the classic protocol's servers). */
const NO_PROGRESS: ReadonlySet<number> = new Set([404, 405, 501]);

export class StatusSliceTransport implements Transport {
  readonly #http: HttpClient;
  /** Per endpoint, whether its server answered `GET /progress` (learnt once; a server is one version at a time). */
  readonly #streams = new Map<string, boolean>();
  /**
   * Endpoints whose `GET /progress` got no answer: when another request to them then gets one, the
   * failure may be the path's, not the network's (a server without it refusing its CORS preflight).
   */
  readonly #unanswered = new Set<string>();
  /**
   * Per endpoint, how often that happened since a probe last got an answer. The second time the
   * server counts as one without the path: a refused preflight fails every probe, while one network
   * blip that happened to hit a probe must not cost streaming for the worker's life.
   */
  readonly #refusals = new Map<string, number>();

  /** `http` carries the requests: `FetchHttpClient` in the worker, or a page's XHR for bodies. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** A POST at 0 creates the upload; a server holding bytes of this id answers 409 with its offset. */
  appendsFirst(): boolean {
    return true;
  }

  /** Our server checks X-File-Digest; a classic server ignores the header (and checks nothing). */
  supportsFileDigest(): boolean {
    return true;
  }

  status(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#send(upload, ctx, 'GET', '/status', {});
  }

  streams(upload: TransportUpload): boolean | undefined {
    return this.#streams.get(upload.endpoint);
  }

  unstreamed(upload: TransportUpload): void {
    this.#streams.set(upload.endpoint, false);
  }

  /** `GET /progress`: a 404 (405, 501) says the server has none, and is remembered for its endpoint. */
  async progress(upload: TransportUpload, ctx: RequestContext): Promise<ProgressOutcome> {
    const answer = await this.#exchange(upload, ctx, 'GET', PROGRESS_PATH, {});
    if ('kind' in answer) {
      // No answer: a network failure, or a CORS refusal of a path the server lacks, which the next
      // answer from this server tells apart (see #send).
      if (answer.kind !== 'aborted' && !this.#streams.has(upload.endpoint)) this.#unanswered.add(upload.endpoint);
      return answer;
    }
    this.#unanswered.delete(upload.endpoint);
    this.#refusals.delete(upload.endpoint);
    if (NO_PROGRESS.has(answer.status)) {
      this.#streams.set(upload.endpoint, false);
      return { kind: 'unsupported' };
    }
    const outcome = classifyStatusSlice('GET', answer);
    if (outcome.kind === 'offset') this.#streams.set(upload.endpoint, true);
    return outcome;
  }

  append(upload: TransportUpload, chunk: AppendRequest, ctx: RequestContext): Promise<TransportOutcome> {
    const headers: Record<string, string> = {
      [H_START_BYTE]: String(chunk.start),
      [H_FILE_SIZE]: String(upload.size),
      [H_FILE_NAME]: encodeHeaderText(upload.name),
      'Content-Type': 'application/octet-stream',
    };
    if (chunk.sha256 !== undefined) headers[H_CONTENT_DIGEST] = `sha-256=:${chunk.sha256}:`;
    if (chunk.fileDigest !== undefined) headers[H_FILE_DIGEST] = `:${chunk.fileDigest}:`;
    if (chunk.completeLater === true) headers[H_UPLOAD_COMPLETE] = '?0';
    // A Blob body: Chromium streams it from disk at full speed, while an ArrayBuffer body of the
    // same bytes went ~10x slower (64 MiB: 0.3 s vs 2.9 s, measured here).
    return this.#send(upload, ctx, 'POST', '/upload', headers, chunk.body);
  }

  cancel(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#send(upload, ctx, 'DELETE', '/upload', {});
  }

  async #send(
    upload: TransportUpload,
    ctx: RequestContext,
    method: string,
    path: string,
    extra: Record<string, string>,
    body?: Blob,
  ): Promise<TransportOutcome> {
    const answer = await this.#exchange(upload, ctx, method, path, extra, body);
    if ('kind' in answer) return answer;
    if (this.#unanswered.delete(upload.endpoint) && !this.#streams.has(upload.endpoint)) this.#refused(upload.endpoint);
    return classifyStatusSlice(method, answer);
  }

  /** A probe of `endpoint` got no answer while the server answered another request. */
  #refused(endpoint: string): void {
    const refusals = (this.#refusals.get(endpoint) ?? 0) + 1;
    this.#refusals.set(endpoint, refusals);
    if (refusals >= PROBE_REFUSALS) this.#streams.set(endpoint, false);
  }

  /** One request to `<endpoint><path>` for the upload: its answer, or what getting none means. */
  async #exchange(
    upload: TransportUpload,
    ctx: RequestContext,
    method: string,
    path: string,
    extra: Record<string, string>,
    body?: Blob,
  ): Promise<HttpResponse | Exclude<TransportOutcome, { kind: 'offset' }>> {
    try {
      return await this.#http.send(
        { method, url: `${upload.endpoint}${path}`, headers: { ...ctx.headers, ...extra, [H_FILE_ID]: upload.fileId }, ...(body === undefined ? {} : { body }) },
        { signal: ctx.signal, ...(ctx.onSent === undefined ? {} : { onSent: ctx.onSent }) },
      );
    } catch (cause) {
      if (ctx.signal.aborted) return { kind: 'aborted' };
      return noAnswer(`${method} ${path}`, cause);
    }
  }
}

/** What a status/slice answer means. Pure. */
export function classifyStatusSlice(method: string, res: ResponseFacts): TransportOutcome {
  const offset = parseByteCount(res.header(H_UPLOAD_OFFSET) ?? '') ?? parseByteCount(res.text.trim());
  const complete = parseComplete(res.header(H_UPLOAD_COMPLETE));
  if (res.status >= 200 && res.status < 300) {
    if (method === 'DELETE') return { kind: 'offset', offset: 0, complete: false };
    if (offset === undefined) return { kind: 'failed', error: new UploadError('SERVER', `HTTP ${res.status}: the server sent no offset`, { status: res.status }) };
    return { kind: 'offset', offset, complete };
  }
  const serverCode = res.header(H_ERROR_CODE) ?? undefined;
  // A 409 is a re-sync (also what a silently replayed POST gets), except a size mismatch.
  if (res.status === 409 && !(serverCode !== undefined && PERMANENT_CONFLICTS.has(serverCode))) {
    return { kind: 'conflict', offset, complete };
  }
  const error = httpError(res.status, res.text, serverCode, res.statusText);
  const retryAfterMs = parseRetryAfter(res.header('Retry-After'));
  return { kind: 'failed', error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
