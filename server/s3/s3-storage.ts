// UploadStorage on S3 (AWS, Ceph RGW, MinIO, R2…), shared by any number of server instances.
// Layout and the manifest: manifest.ts; appending: s3-append.ts; writer leases: s3-leases.ts.
import type { S3Client } from '@aws-sdk/client-s3';
import { UploadServerError } from '../errors.js';
import { completionMetadata, notWhole } from '../storage.js';
import type { AppendOptions, CompletedUpload, HeldPieces, NamespaceUsage, SweepClaim, UploadMetadata, UploadRef, UploadStatus, UploadStorage } from '../storage.js';
import { systemWallClock, type WallClock } from '../types.js';
import { Bucket, type Stored } from './bucket.js';
import { FILE_DIGEST_PIECE } from '../../src/protocol/wire.js';
import { appendBody, readTail } from './s3-append.js';
import { Layout, namespaceGroup, offsetOf, placeOf, type Manifest, type ManifestPart, type UploadPlace } from './manifest.js';
import { MAX_PARTS, ManifestSession } from './manifest-session.js';
import { normalisePrefix } from './s3-config.js';
import { S3Leases, type LeaseTimings } from './s3-leases.js';

export interface S3StorageOptions {
  /** An S3 client (see s3ClientFromEnv for one configured from the standard AWS variables). */
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix for everything this storage writes. Default ''. */
  readonly prefix?: string;
  /**
   * Bytes per multipart part, rounded up to whole 8 MiB pieces of the whole-file digest (memory per
   * upload: up to three parts). Default 8 MiB.
   */
  readonly partSize?: number;
  readonly clock?: WallClock;
  /** Lease timing (renewal period, expiry of a silent holder, poll period of a waiter). */
  readonly lease?: Partial<LeaseTimings>;
}

const DEFAULT_PART = 8 * 1024 * 1024;

/** How many append sessions are kept for a completion to continue (oldest dropped first). */
const MAX_KEPT_WRITERS = 1024;

export class S3Storage implements UploadStorage {
  /** Leases in the bucket: the writer locks of every instance that shares it. */
  readonly locks: S3Leases;
  readonly #bucket: Bucket;
  readonly #layout: Layout;
  readonly #partSize: number;
  readonly #clock: WallClock;
  #ready: Promise<void> | undefined;
  /** The session of an append that made its upload ready to complete, for the complete() that follows. */
  readonly #writers = new Map<string, ManifestSession>();

  constructor(options: S3StorageOptions) {
    this.#bucket = new Bucket(options.client, options.bucket);
    this.#layout = new Layout(normalisePrefix(options.prefix ?? ''));
    this.#partSize = wholePieces(options.partSize ?? DEFAULT_PART);
    this.#clock = options.clock ?? systemWallClock;
    this.locks = new S3Leases(this.#bucket, this.#layout, () => this.init(), options.lease);
  }

  /** Checks the bucket answers and enforces conditional writes (see Bucket.probe); retried after a failure. */
  init(): Promise<void> {
    this.#ready ??= this.#bucket.probe(this.#layout.prefix).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async status(ref: UploadRef): Promise<UploadStatus | undefined> {
    const p = await this.#prepare(ref);
    const m = (await this.#manifest(p))?.value;
    if (m?.state === 'active') return { offset: offsetOf(m), size: m.size, complete: false, name: m.name };
    const done = await this.#completed(p.key);
    if (done) return { offset: done.size, size: done.size, complete: true, name: done.name };
    // All bytes are in; a completion was cut short and the next request finishes it.
    if (m?.state === 'completing') return { offset: offsetOf(m), size: m.size, complete: false, name: m.name };
    return undefined;
  }

  async append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }> {
    const p = await this.#prepare(ref);
    const st = await this.#manifest(p);
    const m = st?.value;
    if (m?.state === 'completing') {
      // Frozen: the next complete() finishes it. An empty body (the client's last, resent) is fine.
      if (options.start !== offsetOf(m)) throw new UploadServerError('OFFSET_MISMATCH', undefined, { offset: offsetOf(m) });
      for await (const chunk of body) {
        if (chunk.byteLength > 0) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: offsetOf(m) });
      }
      return { offset: offsetOf(m) };
    }
    if (m?.state !== 'active') {
      const done = await this.#bucket.head(this.#layout.data(p.key));
      if (done) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: done.size, complete: true });
    }
    const held = m?.state === 'active' ? offsetOf(m) : 0;
    if (options.start !== held) throw new UploadServerError('OFFSET_MISMATCH', undefined, { offset: held });
    const session = new ManifestSession(this.#bucket, this.#layout, p, st, this.#fresh(ref));
    const base = m?.state === 'active' ? m : this.#fresh(ref);
    // The fence: this write makes every earlier writer's next write fail, whatever it still holds.
    await session.update(() => ({ ...base, size: base.size ?? options.size, name: base.name ?? options.name }));
    this.#writers.delete(p.key);
    const out = await appendBody({ bucket: this.#bucket, layout: this.#layout, session, partSize: this.#partSizeFor(session.manifest.size) }, body, options);
    // The protocol may complete an upload whose bytes are all in (or, without a size, whose body
    // came whole): the session is kept for complete() to continue (its fence). Bounded, as
    // uploads that are never completed (an IETF ?0 append, a deferred tus length, an abandoned
    // upload) would otherwise leave theirs for the process's life; an evicted one reads afresh.
    const size = session.manifest.size;
    if (size === undefined || out.offset === size) {
      this.#writers.delete(p.key);
      this.#writers.set(p.key, session);
      if (this.#writers.size > MAX_KEPT_WRITERS) this.#writers.delete(this.#writers.keys().next().value!);
    }
    return out;
  }

  async complete(ref: UploadRef): Promise<CompletedUpload> {
    const p = await this.#prepare(ref);
    // The writer that just appended continues its own chain of conditional writes: if another
    // instance took over since, freezing the upload fails (BUSY) instead of freezing their bytes.
    const writer = this.#writers.get(p.key);
    this.#writers.delete(p.key);
    const st = writer ? undefined : await this.#manifest(p);
    let m = writer?.manifest ?? st?.value;
    if (m?.state === 'active') {
      if (m.size !== undefined && offsetOf(m) !== m.size) throw notWhole(offsetOf(m), m.size);
      const session = writer ?? new ManifestSession(this.#bucket, this.#layout, p, st, m);
      let last: ManifestPart | undefined;
      if (m.tail && m.parts.length > 0) {
        // The tail becomes the last part (the only one allowed below 5 MiB).
        const bytes = await readTail(this.#bucket, m.tail);
        const { n, uploadId } = await session.partNumber();
        last = { n, size: bytes.length, etag: await this.#bucket.uploadPart(this.#layout.data(p.key), uploadId, n, bytes) };
      }
      // The commit point: from here the upload's bytes are frozen, and any instance finishes it.
      const completedAt = new Date(this.#clock.now()).toISOString();
      await session.update((cur) => ({
        ...cur,
        state: 'completing',
        completedAt,
        ...(last ? { parts: [...cur.parts, last], tail: undefined, lastFromTail: cur.tail } : {}),
      }));
      m = session.manifest;
    }
    if (m?.state === 'completing') return this.#finish(p, m);
    const done = await this.#completed(p.key);
    if (!done) throw new UploadServerError('NOT_FOUND', 'no such upload');
    return { path: this.#path(p.key), metadata: done };
  }

  async remove(ref: UploadRef): Promise<boolean> {
    const p = await this.#prepare(ref);
    this.#writers.delete(p.key);
    const st = await this.#manifest(p);
    const m = st?.value;
    if (m?.state === 'active') {
      await this.#cancel(p, st!);
      return true;
    }
    const done = m?.state === 'completing' ? { size: offsetOf(m) } : await this.#bucket.head(this.#layout.data(p.key));
    if (done) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: done.size, complete: true });
    return false;
  }

  async read(ref: UploadRef): Promise<AsyncIterable<Uint8Array> | undefined> {
    const p = await this.#prepare(ref);
    const m = (await this.#manifest(p))?.value;
    if (m?.state === 'active') {
      // S3 has no way to read the parts of an unfinished multipart upload back.
      if (m.parts.length > 0) throw new UploadServerError('NOT_FOUND', 'a partial upload held in multipart parts cannot be read back before it completes');
      const bytes = m.tail ? await readTail(this.#bucket, m.tail) : undefined;
      return (async function* () {
        if (bytes) yield bytes;
      })();
    }
    return this.#bucket.stream(this.#layout.data(p.key));
  }

  /**
   * Removes partial uploads whose manifest was last written before `before` (tombstoned, so any
   * writer of theirs is fenced), finishes completions a crash cut short, deletes old tombstones
   * and leases, and removes what writers left unreferenced: tail objects and multipart uploads no
   * manifest lists (a writer that failed, or was fenced, between storing and committing).
   */
  async sweep(before: number, claim: SweepClaim): Promise<number> {
    await this.init();
    let removed = 0;
    // Every upload with a manifest, by storage key; the manifests read, by storage key.
    const places = new Map<string, UploadPlace>();
    const read = new Map<string, Manifest | undefined>();
    const manifestOf = async (p: UploadPlace): Promise<Manifest | undefined> => {
      if (!read.has(p.key)) read.set(p.key, (await this.#manifest(p))?.value);
      return read.get(p.key);
    };
    for await (const obj of this.#bucket.list(`${this.#layout.prefix}partial/`)) {
      const found = this.#layout.parsePartial(obj.key);
      if (!found) continue;
      const p = found.place;
      if (found.kind === 'manifest') places.set(p.key, p);
      if (obj.lastModified >= before) continue;
      if (found.kind === 'tail') {
        const m = await manifestOf(p);
        if (m?.state !== 'active' || m.tail?.key !== obj.key) await this.#bucket.delete(obj.key);
        continue;
      }
      const lease = claim(p.key);
      if (!lease) continue;
      try {
        const st = await this.#manifest(p);
        read.set(p.key, st?.value);
        if (!st) continue;
        if (st.value.state === 'active') {
          await this.#cancel(p, st);
          removed++;
        } else if (st.value.state === 'completing') {
          // A completion cut short by a crash: everything is durable, finish it.
          await this.#finish(p, st.value);
        } else {
          // A tombstone left by a cancel. RGW ignores If-Match on DELETE (AWS honours it): it was read just now.
          await this.#bucket.delete(obj.key, st.etag);
        }
      } finally {
        lease.release();
      }
    }
    // Leases are rewritten by every request: one untouched this long belongs to nobody.
    for await (const obj of this.#bucket.list(`${this.#layout.prefix}leases/`)) {
      if (obj.lastModified < before) await this.#bucket.delete(obj.key);
    }
    for await (const u of this.#bucket.listMultipartUploads(`${this.#layout.prefix}complete/`)) {
      const key = this.#layout.keyOfData(u.key);
      if (key === undefined || u.initiated >= before) continue;
      const p = places.get(key);
      const m = p && (await manifestOf(p));
      if (m?.uploadId !== u.uploadId || m.state === 'cancelled') await this.#bucket.abortMultipart(u.key, u.uploadId);
    }
    return removed;
  }

  /**
   * What the namespace's unfinished uploads hold: one listing of its group, then its manifests
   * (read eight at a time). Costs a request per unfinished upload; asked only when limits are set.
   */
  async usage(namespace: string): Promise<NamespaceUsage> {
    await this.init();
    const manifests: string[] = [];
    for await (const obj of this.#bucket.list(this.#layout.group(namespaceGroup(namespace)), '/')) manifests.push(obj.key);
    let uploads = 0;
    let bytes = 0;
    for (let i = 0; i < manifests.length; i += 8) {
      const batch = await Promise.all(manifests.slice(i, i + 8).map((k) => this.#bucket.getJson<Manifest>(k)));
      for (const st of batch) {
        const m = st?.value;
        if (!m || m.state === 'cancelled') continue;
        uploads++;
        bytes += Math.max(m.size ?? 0, offsetOf(m));
      }
    }
    return { uploads, bytes };
  }

  /** Completions whose onComplete has not been delivered: the notices under notify/. */
  async *unnotified(): AsyncGenerator<CompletedUpload> {
    await this.init();
    for await (const obj of this.#bucket.list(`${this.#layout.prefix}notify/`)) {
      const notice = await this.#bucket.getJson<CompletedUpload>(obj.key);
      if (notice) yield notice.value;
    }
  }

  async markNotified(ref: UploadRef): Promise<void> {
    const p = await this.#prepare(ref);
    await this.#bucket.delete(this.#layout.notice(p.key));
  }

  /** The piece hashes of the committed parts and the tail's bytes (see UploadStorage.pieces). */
  async pieces(ref: UploadRef): Promise<HeldPieces | undefined> {
    const p = await this.#prepare(ref);
    const m = (await this.#manifest(p))?.value;
    if (m === undefined || m.state === 'cancelled') return undefined;
    // A completion cut short: its last part is the former tail, whose object is still there.
    const whole = m.lastFromTail ? m.parts.slice(0, -1) : m.parts;
    const rest = m.lastFromTail ?? m.tail;
    if (whole.some((part) => part.pieces === undefined)) return undefined;
    const hashes = whole.flatMap((part) => part.pieces!.map((h) => Buffer.from(h, 'hex')));
    return { hashes, rest: rest ? await readTail(this.#bucket, rest) : new Uint8Array(0) };
  }

  async #cancel(p: UploadPlace, st: Stored<Manifest>): Promise<void> {
    const m = st.value;
    const session = new ManifestSession(this.#bucket, this.#layout, p, st, m);
    // A tombstone, not a delete: the conditional write fences every writer of the old upload,
    // which a plain DELETE (unconditional on RGW) could not.
    await session.update(() => ({ state: 'cancelled', id: m.id, namespace: m.namespace, createdAt: m.createdAt, parts: [], reserved: 0 }));
    if (m.uploadId) await this.#bucket.abortMultipart(this.#layout.data(p.key), m.uploadId);
    await this.#removeTails(p);
  }

  /** Finishes a `completing` upload; safe to run again (after a crash, or on another instance). */
  async #finish(p: UploadPlace, m: Manifest): Promise<CompletedUpload> {
    const dataKey = this.#layout.data(p.key);
    const size = offsetOf(m);
    const done: CompletedUpload = {
      path: this.#path(p.key),
      metadata: completionMetadata({
        ref: { namespace: m.namespace, id: m.id },
        size,
        name: m.name,
        createdAt: m.createdAt,
        completedAt: m.completedAt ?? new Date(this.#clock.now()).toISOString(),
      }),
    };
    // Awaiting delivery before the file can be seen as complete (at least once, never lost).
    await this.#bucket.putJson(this.#layout.notice(p.key), done);
    if (m.parts.length > 0 && m.uploadId) {
      const completed = await this.#bucket.completeMultipart(dataKey, m.uploadId, m.parts);
      // Gone: an earlier attempt completed it (then the object is there, with this size).
      if (!completed && (await this.#bucket.head(dataKey))?.size !== size) {
        throw new UploadServerError('UNAVAILABLE', 'the multipart upload of this file is gone; retry later');
      }
    } else {
      const bytes = m.tail ? await readTail(this.#bucket, m.tail) : Buffer.alloc(0);
      await this.#bucket.put(dataKey, bytes);
      if (m.uploadId) await this.#bucket.abortMultipart(dataKey, m.uploadId);
    }
    await this.#bucket.putJson(this.#layout.metadata(p.key), done.metadata);
    // Safe to delete without a condition: nobody writes a completing manifest.
    await this.#bucket.delete(this.#layout.manifest(p));
    await this.#removeTails(p);
    return done;
  }

  async #removeTails(p: UploadPlace): Promise<void> {
    for await (const obj of this.#bucket.list(this.#layout.partialObjects(p))) await this.#bucket.delete(obj.key);
  }

  async #completed(key: string): Promise<UploadMetadata | undefined> {
    return (await this.#bucket.getJson<UploadMetadata>(this.#layout.metadata(key)))?.value;
  }

  async #manifest(p: UploadPlace): Promise<Stored<Manifest> | undefined> {
    return this.#bucket.getJson<Manifest>(this.#layout.manifest(p));
  }

  #fresh(ref: UploadRef): Manifest {
    return { state: 'active', id: ref.id, namespace: ref.namespace, createdAt: new Date(this.#clock.now()).toISOString(), parts: [], reserved: 0, writer: '' };
  }

  /**
   * Bigger parts when the declared size would need more than S3's 10,000 (a tenth kept for
   * parts a cut body or a digest mismatch used up).
   */
  #partSizeFor(size: number | undefined): number {
    if (size === undefined) return this.#partSize;
    return Math.max(this.#partSize, wholePieces(size / (MAX_PARTS * 0.9)));
  }

  #path(key: string): string {
    return `s3://${this.#bucket.name}/${this.#layout.data(key)}`;
  }

  async #prepare(ref: UploadRef): Promise<UploadPlace> {
    await this.init();
    return placeOf(ref);
  }
}

/** `bytes` rounded up to whole pieces of the whole-file digest (at least one). */
function wholePieces(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / FILE_DIGEST_PIECE)) * FILE_DIGEST_PIECE;
}
