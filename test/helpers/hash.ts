// The one SHA-256 helper of the tests: hex for comparing files, RFC 9530 for Content-Digest.
import { createHash } from 'node:crypto';

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function contentDigest(data: Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(data).digest('base64')}:`;
}

export { makeBytes } from '../../lab/bytes.js';

/** The whole-file digest of X-File-Digest: SHA-256 of the SHA-256s of the 8 MiB pieces, as `:<base64>:`. */
export function fileDigest(data: Uint8Array): string {
  const piece = 8 * 1024 * 1024;
  const digests: Buffer[] = [];
  for (let at = 0; at < data.length; at += piece) digests.push(createHash('sha256').update(data.subarray(at, at + piece)).digest());
  return `:${createHash('sha256').update(Buffer.concat(digests)).digest('base64')}:`;
}
