// The whole-file digest of X-File-Digest (see src/protocol/wire.ts): each FILE_DIGEST_PIECE-byte
// piece hashed by Web Crypto through one reusable buffer, then the SHA-256 of the pieces' digests.
// Web Crypto has no incremental SHA-256; a WASM one ran at a third of its speed (241 MB/s here).
import { FILE_DIGEST_PIECE, bytesToBase64 } from '../src/protocol/index.js';
import { SliceHasher } from './slice-hasher.js';
import type { StoredFile } from './stored-file.js';

/** The file's digest, base64. Rejects with `UploadError` STORAGE when the stored file cannot be read. */
export async function fileDigest(file: StoredFile, hasher: SliceHasher = new SliceHasher()): Promise<string> {
  const pieces = new Uint8Array(Math.ceil(file.size / FILE_DIGEST_PIECE) * 32);
  for (let at = 0, i = 0; at < file.size; at += FILE_DIGEST_PIECE, i++) {
    pieces.set(await hasher.digest(await file.slice(at, Math.min(file.size, at + FILE_DIGEST_PIECE))), i * 32);
  }
  return bytesToBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', pieces)));
}
