// The checksum extension: `Upload-Checksum: <algorithm> <base64>` on a body, verified before any of
// it counts. sha256 is handed to the storage as the digest it checks (streamed, all or nothing);
// the storage checks SHA-256 only, so a sha1 body is held in memory, checked here, then handed on
// with its SHA-256 — bounded, which is why large chunks should carry sha256.
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseUploadChecksum, UPLOAD_CHECKSUM } from '../../src/protocol/tus.js';
import { UploadServerError } from '../errors.js';
import type { Lease } from '../locks.js';
import type { UploadServices } from '../protocol.js';
import type { UploadRequest } from '../types.js';
import { header } from './tus-headers.js';

/** `Tus-Checksum-Algorithm`: sha1 is the one the spec requires. */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256'] as const;
type Algorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** The largest body a sha1 checksum is accepted for (it is checked in memory). */
export const SHA1_MAX_BODY = 16 * 1024 * 1024;

/**
 * The most memory sha1-checked bodies may hold at once, all requests together: each may hold
 * SHA1_MAX_BODY, and many at once (a client opening many cheap uploads) must not exhaust the
 * process. Past it a body is refused 503 UNAVAILABLE (try again shortly, or use sha256).
 */
export const SHA1_MAX_HELD = 4 * SHA1_MAX_BODY;

/** Bytes held by sha1-checked bodies now, in this process. */
let sha1Held = 0;

/** What sha1-checked bodies hold now (for tests and diagnostics). */
export function sha1HeldBytes(): number {
  return sha1Held;
}

const DIGEST_BYTES: Readonly<Record<Algorithm, number>> = { sha1: 20, sha256: 32 };

export interface Checksum {
  readonly algorithm: Algorithm;
  readonly digest: Uint8Array;
}

/** The request's checksum, undefined without one; 400 when malformed or of an algorithm not offered. */
export function checksumOf(req: UploadRequest): Checksum | undefined {
  const raw = header(req, UPLOAD_CHECKSUM);
  if (raw === undefined) return undefined;
  const parsed = parseUploadChecksum(raw);
  if (parsed === undefined) throw new UploadServerError('BAD_DIGEST', 'Upload-Checksum must be "<algorithm> <base64 digest>"');
  const algorithm = CHECKSUM_ALGORITHMS.find((a) => a === parsed.algorithm);
  if (algorithm === undefined) {
    throw new UploadServerError('BAD_DIGEST', `checksum algorithm ${JSON.stringify(parsed.algorithm)} is not supported; use one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
  }
  if (parsed.digest.length !== DIGEST_BYTES[algorithm]) throw new UploadServerError('BAD_DIGEST', `a ${algorithm} digest has ${DIGEST_BYTES[algorithm]} bytes`);
  return { algorithm, digest: parsed.digest };
}

/**
 * The request whose body to append, the SHA-256 the storage must find in it, and `release`, to
 * call once the append is over (it frees what a sha1 body holds). A sha1 mismatch throws
 * DIGEST_MISMATCH with nothing appended; a sha1 body past SHA1_MAX_BODY, TOO_LARGE (by its
 * Content-Length before a byte is read); past SHA1_MAX_HELD of all, UNAVAILABLE.
 */
export async function checkedBody(
  req: UploadRequest,
  lease: Lease,
  services: UploadServices,
  checksum: Checksum,
  contentLength: number | undefined,
): Promise<{ req: UploadRequest; sha256: Uint8Array; release: () => void }> {
  if (checksum.algorithm === 'sha256') return { req, sha256: checksum.digest, release: () => undefined };
  const tooLarge = (): UploadServerError =>
    new UploadServerError('TOO_LARGE', `a body with a sha1 checksum may have at most ${SHA1_MAX_BODY} bytes (it is checked in memory); send smaller chunks or use sha256`);
  if (contentLength !== undefined && contentLength > SHA1_MAX_BODY) throw tooLarge();
  const chunks: Uint8Array[] = [];
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let held = 0;
  const release = (): void => {
    sha1Held -= held;
    held = 0;
    chunks.length = 0;
  };
  try {
    for await (const chunk of services.body(req, lease)) {
      if (held + chunk.byteLength > SHA1_MAX_BODY) throw tooLarge();
      if (sha1Held + chunk.byteLength > SHA1_MAX_HELD) {
        throw new UploadServerError('UNAVAILABLE', `sha1-checked bodies are held in memory and ${SHA1_MAX_HELD} bytes of them are in flight; try again shortly, or use sha256`);
      }
      held += chunk.byteLength;
      sha1Held += chunk.byteLength;
      chunks.push(chunk);
      sha1.update(chunk);
      sha256.update(chunk);
    }
    if (!timingSafeEqual(sha1.digest(), checksum.digest)) throw new UploadServerError('DIGEST_MISMATCH', 'the body does not match its Upload-Checksum; nothing was appended');
  } catch (err) {
    release();
    throw err;
  }
  const body = (async function* () {
    yield* chunks;
  })();
  return { req: { ...req, body }, sha256: new Uint8Array(sha256.digest()), release };
}
