// Content-Digest of a Blob slice, read as a stream into an incremental SHA-256. WebCrypto has no
// incremental digest: hashing each 64 MiB chunk as one ArrayBuffer grew Chromium's memory by
// ~400 MiB over a 1 GiB upload (garbage buffers outrun the GC), while streaming keeps it flat.
import { createSHA256 } from 'hash-wasm';
import { UploadError, formatContentDigest } from '../src/protocol/index.js';

/** The RFC 9530 `Content-Digest` (sha-256) of `blob`. Rejects with `UploadError` STORAGE when it cannot be read. */
export async function blobDigest(blob: Blob): Promise<string> {
  try {
    const hasher = await createSHA256();
    hasher.init();
    const reader = blob.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hasher.update(value);
    }
    return formatContentDigest(hasher.digest('binary'));
  } catch (cause) {
    throw new UploadError('STORAGE', 'The stored file could not be read', { cause });
  }
}
