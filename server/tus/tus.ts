// tus 1.0 at /files/ (tus/tus-resumable-upload-protocol protocol.md): the core protocol and the
// extensions creation, creation-with-upload, creation-defer-length, termination, expiration and
// checksum (sha1, sha256). One module per method; takeover, limits, body deadlines and completion
// are the shared services'. Upload URLs are /files/<token>, tokens the server's own (upload-ids.ts).
import { H_ERROR_CODE } from '../../src/protocol/wire.js';
import { METHOD_OVERRIDE, TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS, TUS_RESUMABLE, TUS_VERSION, TUS_VERSIONS } from '../../src/protocol/tus.js';
import { UploadServerError, toServerError } from '../errors.js';
import type { ProtocolHandler, UploadServices } from '../protocol.js';
import { textError } from '../responses.js';
import type { UploadRequest, UploadResponse } from '../types.js';
import { parseFilesPath, serverNamedRef } from '../upload-ids.js';
import { createTus } from './tus-create.js';
import { deleteTus } from './tus-delete.js';
import { headTus, notFound } from './tus-head.js';
import { header, TUS_ANSWER_HEADERS } from './tus-headers.js';
import { optionsTus } from './tus-options.js';
import { patchTus } from './tus-patch.js';

const UPLOAD_METHODS = ['HEAD', 'PATCH', 'DELETE', 'POST'] as const;

export const tus: ProtocolHandler = {
  methods(path) {
    const at = parseFilesPath(path);
    if (at === undefined) return undefined;
    // POST on an upload is for X-HTTP-Method-Override only.
    return at.kind === 'collection' ? ['POST'] : UPLOAD_METHODS;
  },
  corsRequestHeaders: TUS_REQUEST_HEADERS,
  corsResponseHeaders: [...TUS_RESPONSE_HEADERS, H_ERROR_CODE],
  options: (_req, services) => withTusHeaders(optionsTus(services)),
  async handle(req, namespace, services) {
    let res: UploadResponse;
    try {
      res = await route(req, namespace, services);
    } catch (err) {
      res = tusError(toServerError(err));
    }
    return withTusHeaders(res);
  },
};

async function route(req: UploadRequest, namespace: string, services: UploadServices): Promise<UploadResponse> {
  // "If the version specified by the Client is not supported by the Server, it MUST respond with
  // 412 and MUST include the Tus-Version header. In addition, the Server MUST NOT process the request."
  const version = header(req, TUS_RESUMABLE);
  if (version?.trim() !== TUS_VERSION) {
    const why = version === undefined ? 'the request has no Tus-Resumable header' : `Tus-Resumable ${JSON.stringify(version)} is not spoken here`;
    return textError(new UploadServerError('UNSUPPORTED_VERSION', `${why}; this server speaks tus ${TUS_VERSION}`), 412, { [TUS_VERSIONS.toLowerCase()]: TUS_VERSION });
  }
  const method = methodOf(req);
  const at = parseFilesPath(req.path);
  if (at?.kind === 'collection') {
    if (method !== 'POST') throw new UploadServerError('METHOD_NOT_ALLOWED');
    return createTus(req, namespace, services);
  }
  if (at?.token === undefined) return notFound();
  const ref = serverNamedRef(namespace, at.token);
  switch (method) {
    case 'HEAD':
      return headTus(ref, services);
    case 'PATCH':
      return patchTus(req, ref, services);
    case 'DELETE':
      return deleteTus(ref, services);
    default:
      throw new UploadServerError('METHOD_NOT_ALLOWED', `${method} is not a tus method for an upload (HEAD, PATCH, DELETE)`);
  }
}

/** "The X-HTTP-Method-Override request header MUST be interpreted as the request's method." */
function methodOf(req: UploadRequest): string {
  const override = header(req, METHOD_OVERRIDE)?.trim().toUpperCase();
  return req.method === 'POST' && override !== undefined && override !== '' ? override : req.method;
}

/** An error as tus clients expect it: 460 for a checksum mismatch, the offset held on a 409. */
function tusError(err: UploadServerError): UploadResponse {
  const status = err.code === 'DIGEST_MISMATCH' ? 460 : err.status;
  return textError(err, status, err.status === 409 && err.offset !== undefined ? { 'upload-offset': String(err.offset) } : {});
}

function withTusHeaders(res: UploadResponse): UploadResponse {
  return { ...res, headers: { ...res.headers, ...TUS_ANSWER_HEADERS } };
}
