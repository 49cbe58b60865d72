import { H_ERROR_CODE, H_FILE_SIZE, H_UPLOAD_COMPLETE, H_UPLOAD_OFFSET, formatComplete } from '../src/protocol/wire.js';
import { UploadServerError } from './errors.js';
import type { UploadResponse } from './types.js';

const TEXT = 'text/plain; charset=utf-8';

/** Where an upload stands, in the headers every offset-bearing response carries. */
export interface OffsetState {
  readonly offset: number;
  readonly complete: boolean;
  readonly size?: number | undefined;
}

function offsetHeaders(state: OffsetState): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': TEXT,
    'cache-control': 'no-store',
    [H_UPLOAD_OFFSET]: String(state.offset),
    [H_UPLOAD_COMPLETE]: formatComplete(state.complete),
  };
  if (state.size !== undefined) headers[H_FILE_SIZE] = String(state.size);
  return headers;
}

/** 200 with the offset as plain text: what the classic client reads with `+await res.text()`. */
export function offsetResponse(state: OffsetState): UploadResponse {
  return { status: 200, headers: offsetHeaders(state), body: String(state.offset) };
}

/**
 * An error. A 409 carries the offset held as its body, so the client re-syncs in one round
 * trip; every other error carries a one-line reason a person can read (shown by the uploader
 * as the reason of a failed upload), with the offset, when known, in `X-Upload-Offset`.
 */
export function errorResponse(err: UploadServerError, size?: number): UploadResponse {
  if (err.offset !== undefined) {
    const headers = offsetHeaders({ offset: err.offset, complete: err.complete, size });
    headers[H_ERROR_CODE] = err.code;
    const body = err.status === 409 ? String(err.offset) : `${err.message}\n`;
    return { status: err.status, headers, body, closeConnection: cutsConnection(err) };
  }
  return textError(err);
}

/**
 * An error as one line of text a person reads, with `X-Error-Code` for programs; `status` when a
 * protocol answers the code with its own (tus: 460 for a checksum mismatch).
 */
export function textError(err: UploadServerError, status = err.status, headers: Readonly<Record<string, string>> = {}): UploadResponse {
  return {
    status,
    headers: { 'content-type': TEXT, 'cache-control': 'no-store', ...headers, [H_ERROR_CODE]: err.code },
    body: `${err.message}\n`,
    closeConnection: cutsConnection(err),
  };
}

/** The client is gone (taken over) or too slow to wait for: its unread body is not drained. */
function cutsConnection(err: UploadServerError): boolean {
  return err.code === 'BUSY' || err.code === 'TIMEOUT';
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): UploadResponse {
  return { status, headers, body: '' };
}
