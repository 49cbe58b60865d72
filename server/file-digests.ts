// Whole-file integrity at completion (X-File-Digest, see src/protocol/wire.ts): the piece-list
// SHA-256 of everything the upload holds, checked once, when the request that completes it says
// what it should be. This process hashes an upload's bytes as they are appended, so the check
// costs nothing when it saw them all in order; otherwise (a restart, another instance, a
// rolled-back body) it reads the stored bytes back once.
import { createHash, timingSafeEqual, type Hash } from 'node:crypto';
import { FILE_DIGEST_PIECE } from '../src/protocol/wire.js';
import { storageKey, type UploadRef, type UploadStorage } from './storage.js';

/** The piece-list digest, fed in order, any chunk sizes. */
export class PieceDigest {
  readonly #pieces: Buffer[] = [];
  #current: Hash = createHash('sha256');
  #inPiece = 0;
  /** Bytes fed so far. */
  length = 0;

  update(chunk: Uint8Array): void {
    let rest = chunk;
    while (rest.byteLength > 0) {
      const take = Math.min(rest.byteLength, FILE_DIGEST_PIECE - this.#inPiece);
      this.#current.update(rest.subarray(0, take));
      this.#inPiece += take;
      this.length += take;
      rest = rest.subarray(take);
      if (this.#inPiece === FILE_DIGEST_PIECE) {
        this.#pieces.push(this.#current.digest());
        this.#current = createHash('sha256');
        this.#inPiece = 0;
      }
    }
  }

  /** A whole piece hashed elsewhere (see UploadStorage.pieces); only at a piece boundary. */
  addPiece(hash: Uint8Array): void {
    if (this.#inPiece !== 0) throw new Error('addPiece() inside a piece');
    this.#pieces.push(Buffer.from(hash));
    this.length += FILE_DIGEST_PIECE;
  }

  digest(): Buffer {
    const pieces = this.#inPiece > 0 ? [...this.#pieces, this.#current.digest()] : this.#pieces;
    return createHash('sha256').update(Buffer.concat(pieces)).digest();
  }
}

/** At most this many uploads keep a running digest (each a few hundred bytes); the oldest is dropped. */
const MAX_RUNNING = 10_000;

export class FileDigests {
  readonly #running = new Map<string, PieceDigest>();

  /**
   * Passes `body` through, hashing it when it continues what was hashed so far (or starts the
   * file). Call `settle` with the offset the append reached.
   */
  observe(ref: UploadRef, start: number, body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    const key = storageKey(ref);
    if (start === 0) this.#remember(key, new PieceDigest());
    const running = this.#running.get(key);
    if (running === undefined || running.length !== start) return body;
    return (async function* () {
      for await (const chunk of body) {
        running.update(chunk);
        yield chunk;
      }
    })();
  }

  /** The append reached `offset`: a running digest that does not match it (bytes not kept) is dropped. */
  settle(ref: UploadRef, offset: number): void {
    const key = storageKey(ref);
    if (this.#running.get(key)?.length !== offset) this.#running.delete(key);
  }

  forget(ref: UploadRef): void {
    this.#running.delete(storageKey(ref));
  }

  /** Whether the `size` bytes the upload holds have the piece-list digest `expected`. */
  async matches(ref: UploadRef, size: number, expected: Uint8Array, storage: UploadStorage): Promise<boolean> {
    const key = storageKey(ref);
    let running = this.#running.get(key);
    this.#running.delete(key);
    if (running === undefined || running.length !== size) {
      running = new PieceDigest();
      const held = await storage.pieces?.(ref);
      if (held) {
        for (const hash of held.hashes) running.addPiece(hash);
        running.update(held.rest);
      } else {
        for await (const chunk of (await storage.read(ref)) ?? []) running.update(chunk);
      }
    }
    const actual = running.digest();
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  #remember(key: string, running: PieceDigest): void {
    this.#running.delete(key);
    if (this.#running.size >= MAX_RUNNING) {
      const oldest = this.#running.keys().next().value;
      if (oldest !== undefined) this.#running.delete(oldest);
    }
    this.#running.set(key, running);
  }
}
