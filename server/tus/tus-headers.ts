// Reading tus request headers and writing the headers tus answers carry, for every tus handler.
import { parseByteCount } from '../../src/protocol/wire.js';
import { formatTusMetadata, parseTusMetadata, TUS_RESUMABLE, TUS_VERSION, UPLOAD_EXPIRES, UPLOAD_METADATA } from '../../src/protocol/tus.js';
import { UploadServerError } from '../errors.js';
import type { UploadServices } from '../protocol.js';
import type { FileDescription } from '../storage.js';
import type { UploadRequest } from '../types.js';

export function header(req: UploadRequest, name: string): string | undefined {
  return req.headers[name.toLowerCase()];
}

/** The media type of the body, without parameters, lower case. */
export function contentType(req: UploadRequest): string | undefined {
  return header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
}

/** A byte count header (Upload-Offset, Upload-Length, Content-Length): undefined when absent, 400 when malformed. */
export function byteCountHeader(req: UploadRequest, name: string): number | undefined {
  const raw = header(req, name);
  if (raw === undefined) return undefined;
  const n = parseByteCount(raw.trim());
  if (n === undefined) throw new UploadServerError('BAD_REQUEST', `${name} must be a non-negative integer, got ${JSON.stringify(raw.slice(0, 40))}`);
  return n;
}

/**
 * What `Upload-Metadata` says about the file: its name (`filename`, else `name` as Uppy sends it),
 * its type (`filetype`, else `type`), and every pair. 400 when the header breaks the syntax.
 */
export function describedBy(req: UploadRequest): FileDescription {
  const raw = header(req, UPLOAD_METADATA);
  if (raw === undefined) return {};
  const pairs = parseTusMetadata(raw);
  if (pairs === undefined) {
    throw new UploadServerError('BAD_REQUEST', 'Upload-Metadata must be comma-separated "key base64value" pairs with unique keys');
  }
  const name = pairs.get('filename') ?? pairs.get('name');
  const type = pairs.get('filetype') ?? pairs.get('type');
  return {
    ...(name === undefined ? {} : { name }),
    ...(type === undefined ? {} : { type }),
    ...(pairs.size === 0 ? {} : { fields: Object.fromEntries(pairs) }),
  };
}

/** `Upload-Metadata` for a HEAD answer: the pairs as sent, or what is known of an upload created otherwise. */
export function metadataOf(d: FileDescription): Record<string, string> {
  const pairs = d.fields ?? { ...(d.name === undefined ? {} : { filename: d.name }), ...(d.type === undefined ? {} : { filetype: d.type }) };
  return Object.keys(pairs).length === 0 ? {} : { [UPLOAD_METADATA.toLowerCase()]: formatTusMetadata(pairs) };
}

/** `Upload-Expires` for an unfinished upload written just now, when uploads expire at all. */
export function expiresOf(services: UploadServices, complete: boolean): Record<string, string> {
  const expiry = complete ? undefined : services.expiry();
  return expiry === undefined ? {} : { [UPLOAD_EXPIRES.toLowerCase()]: new Date(expiry.at).toUTCString() };
}

/** On every tus answer (the spec exempts OPTIONS requests, not answers). */
export const TUS_ANSWER_HEADERS: Readonly<Record<string, string>> = { [TUS_RESUMABLE.toLowerCase()]: TUS_VERSION };
