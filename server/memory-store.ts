// In-memory storage: same contract as the disk store, for tests and for embedding where
// durability does not matter. Nothing survives the process.
import { createHash, timingSafeEqual } from 'node:crypto';
import { UploadServerError, toServerError } from './errors.js';
import { completionMetadata, notWhole, storageKey } from './storage.js';
import type {
  AppendOptions,
  CompletedUpload,
  NamespaceUsage,
  SweepClaim,
  UploadMetadata,
  UploadRef,
  UploadStatus,
  UploadStorage,
} from './storage.js';
import { systemWallClock, type WallClock } from './types.js';

interface Entry {
  ref: UploadRef;
  chunks: Uint8Array[];
  length: number;
  size: number | undefined;
  name: string | undefined;
  createdAt: number;
  touchedAt: number;
  metadata?: UploadMetadata;
  /** Completed and its onComplete not yet delivered. */
  pending?: boolean;
}

export class MemoryStore implements UploadStorage {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: WallClock;

  constructor(options: { clock?: WallClock } = {}) {
    this.#clock = options.clock ?? systemWallClock;
  }

  /** Nothing to prepare or repair: nothing survives the process. */
  async init(): Promise<void> {}

  async status(ref: UploadRef): Promise<UploadStatus | undefined> {
    const e = this.#entries.get(storageKey(ref));
    if (!e) return undefined;
    return { offset: e.length, size: e.metadata?.size ?? e.size, complete: !!e.metadata, name: e.name };
  }

  async append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }> {
    const key = storageKey(ref);
    const existing = this.#entries.get(key);
    if (existing?.metadata) {
      throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: existing.length, complete: true });
    }
    const held = existing?.length ?? 0;
    if (held !== options.start) throw new UploadServerError('OFFSET_MISMATCH', undefined, { offset: held });
    const now = this.#clock.now();
    const e: Entry = existing ?? { ref, chunks: [], length: 0, size: undefined, name: undefined, createdAt: now, touchedAt: now };
    e.size ??= options.size;
    e.name ??= options.name;
    this.#entries.set(key, e);
    // With a digest the body is staged and only kept once verified; without, every byte counts at once.
    const staged: Uint8Array[] = [];
    const hasher = options.digest ? createHash('sha256') : undefined;
    let taken = 0;
    let failure: UploadServerError | undefined;
    try {
      for await (const chunk of body) {
        const room = options.maxBytes - taken;
        const part = chunk.byteLength > room ? chunk.slice(0, room) : chunk.slice();
        taken += part.byteLength;
        if (hasher) {
          hasher.update(part);
          staged.push(part);
        } else {
          this.#push(e, part);
        }
        if (chunk.byteLength > room) {
          failure = new UploadServerError('TOO_LARGE');
          break;
        }
      }
    } catch (err) {
      failure = toServerError(err);
    }
    if (options.digest && hasher && !failure) {
      const ok = timingSafeEqual(new Uint8Array(hasher.digest()), options.digest);
      if (ok) for (const part of staged) this.#push(e, part);
      else failure = new UploadServerError('DIGEST_MISMATCH');
    }
    if (failure) throw failure.withOffset(e.length);
    return { offset: e.length };
  }

  async complete(ref: UploadRef): Promise<CompletedUpload> {
    const key = storageKey(ref);
    const e = this.#entries.get(key);
    if (!e) throw new UploadServerError('NOT_FOUND', 'no such upload');
    if (!e.metadata && e.size !== undefined && e.length !== e.size) throw notWhole(e.length, e.size);
    if (!e.metadata) {
      e.metadata = completionMetadata({
        ref,
        size: e.length,
        name: e.name,
        createdAt: new Date(e.createdAt).toISOString(),
        completedAt: new Date(this.#clock.now()).toISOString(),
      });
      e.pending = true;
    }
    return { path: `memory:${key}`, metadata: e.metadata };
  }

  async remove(ref: UploadRef): Promise<boolean> {
    const key = storageKey(ref);
    const e = this.#entries.get(key);
    if (e?.metadata) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: e.length, complete: true });
    return this.#entries.delete(key);
  }

  async read(ref: UploadRef): Promise<AsyncIterable<Uint8Array> | undefined> {
    const e = this.#entries.get(storageKey(ref));
    if (!e) return undefined;
    const chunks = [...e.chunks];
    return (async function* () {
      yield* chunks;
    })();
  }

  async sweep(before: number, claim: SweepClaim): Promise<number> {
    let removed = 0;
    for (const [key, e] of this.#entries) {
      if (e.metadata || e.touchedAt >= before) continue;
      const lease = claim(key);
      if (!lease) continue;
      this.#entries.delete(key);
      lease.release();
      removed++;
    }
    return removed;
  }

  async usage(namespace: string): Promise<NamespaceUsage> {
    let uploads = 0;
    let bytes = 0;
    for (const e of this.#entries.values()) {
      if (e.metadata || e.ref.namespace !== namespace) continue;
      uploads++;
      bytes += Math.max(e.size ?? 0, e.length);
    }
    return { uploads, bytes };
  }

  async *unnotified(): AsyncGenerator<CompletedUpload> {
    for (const [key, e] of this.#entries) if (e.metadata && e.pending) yield { path: `memory:${key}`, metadata: e.metadata };
  }

  async markNotified(ref: UploadRef): Promise<void> {
    const e = this.#entries.get(storageKey(ref));
    if (e) e.pending = false;
  }

  #push(e: Entry, part: Uint8Array): void {
    if (part.byteLength === 0) return;
    e.chunks.push(part);
    e.length += part.byteLength;
    e.touchedAt = this.#clock.now();
  }
}
