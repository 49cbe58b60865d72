// Appending one request body to an upload in S3: the body is cut into parts of whole 8 MiB pieces
// (two uploaded at a time while the next is read), the bytes after the last whole piece go to a
// tail object, and each change is committed by a conditional manifest write (manifest-session.ts)
// before it counts. Parts are whole pieces of the whole-file digest (FILE_DIGEST_PIECE), each with
// its SHA-256 in the manifest, so that digest can be checked without reading parts back.
// Without a digest every part is committed as soon as it is stored, and what is left when the
// body ends or fails is committed too; with a digest nothing is committed until the whole body
// matched it, then all of it in one write (all or nothing).
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { FILE_DIGEST_PIECE } from '../../src/protocol/wire.js';
import { UploadServerError, toServerError } from '../errors.js';
import type { AppendOptions } from '../storage.js';
import type { Bucket } from './bucket.js';
import type { Layout, ManifestPart, ManifestTail } from './manifest.js';
import type { ManifestSession } from './manifest-session.js';

/** Parts uploaded at once per body: one S3 stream is slower than the client's. */
const PARTS_IN_FLIGHT = 2;

export interface AppendTarget {
  readonly bucket: Bucket;
  readonly layout: Layout;
  readonly session: ManifestSession;
  readonly partSize: number;
}

export async function appendBody(t: AppendTarget, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }> {
  const { session } = t;
  const oldTail = session.manifest.tail;
  const hasher = options.digest ? createHash('sha256') : undefined;
  const buffer = new PartBuffer();
  let tailLoaded = false;
  let oldTailGone = false;
  let taken = 0;
  let overflow = false;
  let bodyError: unknown;
  // Stored but not yet committed (with a digest: until the body is verified).
  const pending: ManifestPart[] = [];
  let storeError: UploadServerError | undefined;
  // Part uploads under way (oldest first), and the end of the in-order chain that commits them.
  const uploads: Array<Promise<void>> = [];
  let ordered: Promise<void> = Promise.resolve();

  const commit = async (parts: readonly ManifestPart[], tail: ManifestTail | undefined): Promise<void> => {
    await session.update((cur) => ({ ...cur, parts: [...cur.parts, ...parts], tail }));
    // The old tail is now in a committed part or in the new tail.
    if (oldTail && !oldTailGone) {
      oldTailGone = true;
      await t.bucket.delete(oldTail.key).catch(() => undefined);
    }
  };

  /** Uploads a part (several may travel at once); commits or stages it in offset order. */
  const store = (part: Buffer): Promise<void> => {
    const uploaded = (async (): Promise<ManifestPart> => {
      const pieces = pieceHashes(part);
      const { n, uploadId } = await session.partNumber();
      return { n, size: part.length, etag: await t.bucket.uploadPart(t.layout.data(session.key), uploadId, n, part), pieces };
    })();
    // Observed below, after the parts before it: this only keeps an early failure from counting as unhandled.
    uploaded.catch(() => undefined);
    const before = ordered;
    ordered = (async () => {
      await before;
      const stored = await uploaded;
      // A part after a failed one is stored but never counted (a gap in the offset otherwise).
      if (storeError) return;
      if (hasher) pending.push(stored);
      else await commit([stored], undefined);
    })().catch((err: unknown) => {
      storeError ??= toServerError(err);
    });
    return ordered;
  };

  try {
    for await (const chunk of body) {
      const room = options.maxBytes - taken;
      const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
      if (part.byteLength > 0) {
        if (!tailLoaded) {
          // The tail's bytes lead the next part (S3 parts cannot be appended to).
          if (oldTail) buffer.push(await readTail(t.bucket, oldTail));
          tailLoaded = true;
        }
        hasher?.update(part);
        taken += part.byteLength;
        buffer.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
      }
      if (chunk.byteLength > room) {
        overflow = true;
        break;
      }
      while (buffer.length >= t.partSize && !storeError) {
        // At most PARTS_IN_FLIGHT parts travel while the next one fills (memory per upload).
        if (uploads.length >= PARTS_IN_FLIGHT) await uploads.shift();
        uploads.push(store(buffer.take(t.partSize)));
      }
      if (storeError) break;
    }
  } catch (err) {
    bodyError = err;
  }
  await Promise.all(uploads);
  await ordered;
  if (storeError) throw storeError.withOffset(session.offset);
  const failure = overflow ? new UploadServerError('TOO_LARGE') : bodyError === undefined ? undefined : toServerError(bodyError);
  if (hasher) {
    const ok = failure === undefined && timingSafeEqual(new Uint8Array(hasher.digest()), options.digest!);
    // Nothing of an unverified body counts; its stored parts are never listed, so S3 drops them.
    if (!ok) throw (failure ?? new UploadServerError('DIGEST_MISMATCH')).withOffset(session.offset);
  }
  try {
    // What is left: its whole pieces become a part, the rest a new tail object under a name of its
    // own, so a stale writer can never overwrite a committed tail.
    const whole = Math.floor(buffer.length / FILE_DIGEST_PIECE) * FILE_DIGEST_PIECE;
    if (whole > 0) {
      await store(buffer.take(whole));
      if (storeError) throw storeError;
    }
    const rest = buffer.length;
    let tail: ManifestTail | undefined;
    if (rest > 0) {
      tail = { key: t.layout.tail(session.place, randomUUID()), size: rest };
      await t.bucket.put(tail.key, buffer.take(rest));
    }
    if (pending.length > 0 || tail) await commit(pending.splice(0), tail);
  } catch (err) {
    throw toServerError(err).withOffset(session.offset);
  }
  if (failure) throw failure.withOffset(session.offset);
  return { offset: session.offset };
}

/** Hex SHA-256 of each FILE_DIGEST_PIECE of a part made of whole pieces. */
function pieceHashes(part: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < part.length; at += FILE_DIGEST_PIECE) {
    out.push(createHash('sha256').update(part.subarray(at, at + FILE_DIGEST_PIECE)).digest('hex'));
  }
  return out;
}

/** A tail's bytes, checked against the size the manifest gives it. */
export async function readTail(bucket: Bucket, tail: ManifestTail): Promise<Buffer> {
  const bytes = await bucket.getBytes(tail.key);
  if (!bytes || bytes.length !== tail.size) {
    throw new UploadServerError('UNAVAILABLE', 'the object store lost the tail of this upload; retry later');
  }
  return bytes;
}

/** Chunks waiting to become a part; take() copies exactly n bytes out. */
class PartBuffer {
  #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.#chunks.push(b);
    this.#length += b.length;
  }

  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const head = this.#chunks[0]!;
      const k = Math.min(head.length, n - at);
      head.copy(out, at, 0, k);
      at += k;
      if (k === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(k);
    }
    this.#length -= n;
    return out;
  }
}
