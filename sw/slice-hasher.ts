// Content-Digest of Blob slices, one upload at a time, through one reusable buffer.
// WebCrypto has no incremental digest, so a slice must be whole in memory to be hashed; reading
// every 64 MiB chunk into a fresh ArrayBuffer grew Chromium's memory by ~400 MiB over a 1 GiB
// upload (garbage outran the GC). Reading into the same buffer keeps memory at one chunk per
// running upload, and WebCrypto stays ~3x faster than a WASM hasher here.
import { UploadError, bytesToBase64 } from '../src/protocol/index.js';

/**
 * Whether this engine has BYOB readers. WebKit (2.50, every iOS browser) has none:
 * `getReader({ mode: 'byob' })` throws "ReadableStreamBYOBReader needs a ReadableByteStreamController".
 */
export function hasByobReader(): boolean {
  return typeof (globalThis as { ReadableStreamBYOBReader?: unknown }).ReadableStreamBYOBReader === 'function';
}

export class SliceHasher {
  #buffer: ArrayBuffer = new ArrayBuffer(0);
  #busy = false;
  readonly #byob: boolean;

  /** `byob` defaults to what the engine has; false forces the copying path (tests). */
  constructor(options: { byob?: boolean } = {}) {
    this.#byob = options.byob ?? hasByobReader();
  }

  /** The SHA-256 of `blob`, base64. Rejects with `UploadError` STORAGE when it cannot be read. */
  async sha256(blob: Blob): Promise<string> {
    return bytesToBase64(await this.digest(blob));
  }

  /** The SHA-256 of `blob`, raw. Rejects with `UploadError` STORAGE when it cannot be read. */
  async digest(blob: Blob): Promise<Uint8Array> {
    if (this.#busy) throw new UploadError('INTERNAL', 'SliceHasher is hashing another slice');
    this.#busy = true;
    try {
      if (this.#buffer.byteLength < blob.size) this.#buffer = new ArrayBuffer(blob.size);
      const filled = typeof blob.stream !== 'function' ? await this.#readWhole(blob) : this.#byob ? await this.#readByob(blob) : await this.#readCopying(blob);
      if (filled !== blob.size) throw new UploadError('STORAGE', `The stored file ended after ${filled} of ${blob.size} bytes`);
      return new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(this.#buffer, 0, filled)));
    } catch (cause) {
      if (cause instanceof UploadError) throw cause;
      throw new UploadError('STORAGE', `The stored file could not be read: ${describe(cause)}`, { cause });
    } finally {
      this.#busy = false;
    }
  }

  /** Reads straight into the buffer; a BYOB read transfers it, so carry on with the one handed back. */
  async #readByob(blob: Blob): Promise<number> {
    let buffer = this.#buffer;
    let filled = 0;
    const reader = blob.stream().getReader({ mode: 'byob' });
    try {
      while (filled < blob.size) {
        const { done, value } = await reader.read(new Uint8Array(buffer, filled, blob.size - filled));
        if (done || !value) break;
        buffer = value.buffer as ArrayBuffer;
        filled += value.byteLength;
      }
    } finally {
      reader.releaseLock();
      this.#buffer = buffer;
    }
    return filled;
  }

  /** Without Blob.stream (no engine we test lacks it): the slice read whole, copied, and dropped. */
  async #readWhole(blob: Blob): Promise<number> {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    new Uint8Array(this.#buffer).set(bytes);
    return bytes.byteLength;
  }

  /** Default reader: the engine's own small chunks, copied into the buffer (same memory bound). */
  async #readCopying(blob: Blob): Promise<number> {
    const target = new Uint8Array(this.#buffer);
    let filled = 0;
    const reader = blob.stream().getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const bytes = value as Uint8Array;
        if (filled + bytes.byteLength > blob.size) throw new UploadError('STORAGE', `The stored file has more than ${blob.size} bytes`);
        target.set(bytes, filled);
        filled += bytes.byteLength;
      }
    } finally {
      reader.releaseLock();
    }
    return filled;
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}
