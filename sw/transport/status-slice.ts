// The status/slice wire protocol (GET /status, POST /upload with X-Start-Byte, DELETE /upload)
// over an injected fetch. Never throws for HTTP or network trouble: every call resolves to an
// outcome. The caller owns deadlines (through ctx.signal).
export type { ResponseFacts } from './exchange.js';
import {
  H_CONTENT_DIGEST,
  H_ERROR_CODE,
  H_FILE_ID,
  H_FILE_NAME,
  H_FILE_SIZE,
  H_START_BYTE,
  H_UPLOAD_COMPLETE,
  H_UPLOAD_OFFSET,
  encodeHeaderText,
  parseByteCount,
  parseComplete,
  UploadError,
} from '../../src/protocol/index.js';
import { HttpExchange, type HttpExchangeOptions, type ResponseFacts } from './exchange.js';
import { failedAnswer } from './http-errors.js';
import type { AppendRequest, RequestContext, Transport, TransportOutcome, TransportUpload } from './port.js';

/** How the status/slice transport reaches the server (see HttpExchangeOptions). */
export type StatusSliceOptions = HttpExchangeOptions;

/** A 409 that comes from the server having taken this file id for a file of another size: re-syncing would loop. */
const PERMANENT_CONFLICTS: ReadonlySet<string> = new Set(['SIZE_MISMATCH']);

export class StatusSliceTransport implements Transport {
  readonly #http: HttpExchange;

  constructor(options: StatusSliceOptions) {
    this.#http = new HttpExchange(options);
  }

  status(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#send(upload, ctx, 'GET', '/status', {});
  }

  append(upload: TransportUpload, chunk: AppendRequest, ctx: RequestContext): Promise<TransportOutcome> {
    const headers: Record<string, string> = {
      [H_START_BYTE]: String(chunk.start),
      [H_FILE_SIZE]: String(upload.size),
      [H_FILE_NAME]: encodeHeaderText(upload.name),
      'Content-Type': 'application/octet-stream',
    };
    if (chunk.sha256 !== undefined) headers[H_CONTENT_DIGEST] = `sha-256=:${chunk.sha256}:`;
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
    const sent = await this.#http.send(
      { method, url: `${upload.endpoint}${path}`, headers: { ...extra, [H_FILE_ID]: upload.fileId }, ...(body === undefined ? {} : { body }) },
      ctx,
    );
    return sent.kind === 'answer' ? classifyStatusSlice(method, sent.res) : sent;
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
  return failedAnswer(res);
}
