// POST /files/: the creation extension, with creation-with-upload (a body of
// application/offset+octet-stream) and creation-defer-length (Upload-Defer-Length: 1).
import { TUS_CONTENT_TYPE, UPLOAD_DEFER_LENGTH, UPLOAD_LENGTH } from '../../src/protocol/tus.js';
import { UploadServerError } from '../errors.js';
import type { UploadServices } from '../protocol.js';
import { emptyBody, underLease } from '../services.js';
import { describeFile } from '../storage.js';
import type { UploadRequest, UploadResponse } from '../types.js';
import { newUploadToken, serverNamedRef, uploadPath } from '../upload-ids.js';
import { appendTus } from './tus-append.js';
import { checksumOf } from './tus-checksum.js';
import { byteCountHeader, contentType, describedBy, expiresOf, header } from './tus-headers.js';

export async function createTus(req: UploadRequest, namespace: string, services: UploadServices): Promise<UploadResponse> {
  const length = byteCountHeader(req, UPLOAD_LENGTH);
  const defer = header(req, UPLOAD_DEFER_LENGTH);
  // "If the Upload-Defer-Length header contains any other value than 1 the server should return 400."
  if (defer !== undefined && defer.trim() !== '1') throw new UploadServerError('BAD_REQUEST', 'Upload-Defer-Length must be 1');
  // "The request MUST include one of the following headers": Upload-Length or Upload-Defer-Length: 1.
  if ((length === undefined) === (defer === undefined)) {
    throw new UploadServerError('BAD_REQUEST', 'a creation needs exactly one of Upload-Length and Upload-Defer-Length: 1');
  }
  // "If the length of the upload exceeds the maximum, the Server MUST respond with 413."
  if (length !== undefined && length > services.maxUploadSize) {
    throw new UploadServerError('TOO_LARGE', `the upload is larger than this server's limit of ${services.maxUploadSize} bytes`);
  }
  const name = describeFile(describedBy(req));
  // creation-with-upload: only a body of the PATCH media type is part of the upload.
  const withBody = contentType(req) === TUS_CONTENT_TYPE;
  const checksum = withBody ? checksumOf(req) : undefined;
  const token = newUploadToken();
  const ref = serverNamedRef(namespace, token);
  const location = `${req.basePath ?? ''}${uploadPath(token)}`;
  return underLease(services, ref, async (lease) => {
    const { offset, complete } = await appendTus(ref, withBody ? req : { ...req, body: emptyBody() }, lease, services, {
      held: undefined,
      start: 0,
      length,
      name,
      contentLength: withBody ? byteCountHeader(req, 'content-length') : 0,
      checksum,
    }).catch(async (err: unknown) => {
      // A refused creation names no Location (tus clients then create anew): what it made must
      // not linger, unreachable, against the namespace's limits until the sweep. Nothing of it
      // was acknowledged.
      await services.storage.remove(ref).catch(() => undefined);
      throw err;
    });
    return {
      status: 201,
      headers: { location, 'upload-offset': String(offset), ...expiresOf(services, complete) },
      body: '',
    };
  });
}
