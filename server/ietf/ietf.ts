// The IETF draft "Resumable Uploads for HTTP", interop version 8, at /files/ beside tus: requests
// that carry Upload-Draft-Interop-Version are this module's. Creation (POST /files/), offset
// retrieval (HEAD or GET), append (PATCH, application/partial-upload), cancellation (DELETE), the
// draft's problem types and Upload-Limit; 104 for clients that can see it. Unknown interop
// versions are refused (412) with the version spoken here.
import { H_ERROR_CODE } from '../../src/protocol/wire.js';
import { IETF_REQUEST_HEADERS, IETF_RESPONSE_HEADERS, INTEROP_VERSION, parseSfInteger, UPLOAD_DRAFT_INTEROP_VERSION } from '../../src/protocol/ietf.js';
import { UploadServerError, toServerError } from '../errors.js';
import type { ProtocolHandler, UploadServices } from '../protocol.js';
import { textError } from '../responses.js';
import type { UploadRequest, UploadResponse } from '../types.js';
import { parseFilesPath, serverNamedRef } from '../upload-ids.js';
import { ietfError, limitHeaders } from './ietf-answers.js';
import { patchIetf } from './ietf-append.js';
import { createIetf } from './ietf-create.js';
import { deleteIetf, unknownUpload } from './ietf-delete.js';
import { headIetf } from './ietf-head.js';

const VERSION_HEADER = UPLOAD_DRAFT_INTEROP_VERSION.toLowerCase();

export const ietfDraft: ProtocolHandler = {
  methods(path) {
    const at = parseFilesPath(path);
    if (at === undefined) return undefined;
    return at.kind === 'collection' ? ['POST'] : ['HEAD', 'GET', 'PATCH', 'DELETE'];
  },
  accepts: (headers) => headers[VERSION_HEADER] !== undefined,
  corsRequestHeaders: IETF_REQUEST_HEADERS,
  corsResponseHeaders: [...IETF_RESPONSE_HEADERS, H_ERROR_CODE],
  // "When responding to an OPTIONS request ... the server MUST include the Upload-Limit header field."
  options: (req, services) => refusedVersion(req) ?? { status: 204, headers: limitHeaders(services, false), body: '' },
  async handle(req, namespace, services) {
    try {
      return refusedVersion(req) ?? (await route(req, namespace, services));
    } catch (err) {
      return ietfError(toServerError(err), services);
    }
  },
};

async function route(req: UploadRequest, namespace: string, services: UploadServices): Promise<UploadResponse> {
  const at = parseFilesPath(req.path);
  if (at?.kind === 'collection') return createIetf(req, namespace, services);
  if (at?.token === undefined) return unknownUpload();
  const ref = serverNamedRef(namespace, at.token);
  switch (req.method) {
    case 'HEAD':
    case 'GET':
      return headIetf(ref, services);
    case 'DELETE':
      return deleteIetf(ref, services);
    default:
      return patchIetf(req, ref, services);
  }
}

/** An interop version other than this server's: refused, naming the one spoken here. */
function refusedVersion(req: UploadRequest): UploadResponse | undefined {
  const raw = req.headers[VERSION_HEADER];
  if (parseSfInteger(raw) === INTEROP_VERSION) return undefined;
  const err = new UploadServerError(
    'UNSUPPORTED_VERSION',
    `this server speaks interop version ${INTEROP_VERSION} of draft-ietf-httpbis-resumable-upload; the request asked for ${JSON.stringify(raw)}`,
  );
  return textError(err, 412, { [VERSION_HEADER]: String(INTEROP_VERSION) });
}
