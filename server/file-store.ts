// Disk storage; its layout is in file-layout.ts. One process owns the directory: what it keeps in
// memory (roll-back ceilings, the namespace index) it rebuilds from the disk at startup.
import { mkdir, open, readdir, rename } from 'node:fs/promises';
import { createReadStream, constants } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { UploadServerError, toServerError } from './errors.js';
import { createDurably, fsyncDir, readJson, statOrUndefined, unlinkIfExists } from './fs-util.js';
import { writeBody } from './file-append.js';
import { Checkpoints, DEFAULT_CHECKPOINT, type CheckpointPolicy } from './file-checkpoints.js';
import { FileLayout, type PartialMeta } from './file-layout.js';
import { recoverStore } from './file-recovery.js';
import { NamespaceIndex } from './file-usage.js';
import { cutBack, defaultFileWrites, sizeOf, syncAndMeasure, undoUnverified, type FileWrites } from './file-writes.js';
import { rollBackToGuard } from './guard.js';
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

export interface FileStoreOptions {
  readonly dir: string;
  readonly clock?: WallClock;
  readonly writes?: Partial<FileWrites>;
  /**
   * When a body without a Content-Digest is made durable while it streams in (each checkpoint
   * raises what status() reports): once `bytes` have been written since the last durable point
   * and `ms` have passed since the last checkpoint began, or once `maxBytes` have. Default 1 MiB,
   * 500 ms, 64 MiB.
   */
  readonly checkpoint?: CheckpointPolicy;
}

/** Reads of a status() that an append's start or end keeps spoiling, before it gives up. */
const MAX_STATUS_READS = 8;

export class FileStore implements UploadStorage {
  readonly #layout: FileLayout;
  readonly #clock: WallClock;
  readonly #writes: FileWrites;
  readonly #checkpoint: CheckpointPolicy;
  #ready: Promise<void> | undefined;
  /**
   * Status never reports more than this for an upload: for an append in flight, its start or, for a
   * body without a digest, the offset its last checkpoint made durable (the rest counts once fsynced
   * and the body ended); or the guard's offset while a digest-checked body is not yet retired (its
   * upload about to complete, or an append that failed before it could roll back: the next append
   * finishes that, under the writer lock).
   */
  readonly #ceiling = new Map<string, number>();
  /**
   * Uploads a status() is reading now, and how many appends began or ended on each since: a status()
   * without the writer lock (GET /progress) reads the file size and the ceiling apart, and an append
   * that began (its bytes not yet durable) or ended (perhaps cutting the file back) in between makes
   * it read again. Raising the ceiling needs no new read: it only lets more durable bytes count.
   */
  readonly #reads = new Map<string, { turns: number; readers: number }>();
  readonly #index = new NamespaceIndex();

  constructor(options: FileStoreOptions) {
    this.#layout = new FileLayout(options.dir);
    this.#clock = options.clock ?? systemWallClock;
    this.#writes = { ...defaultFileWrites, ...options.writes };
    this.#checkpoint = options.checkpoint ?? DEFAULT_CHECKPOINT;
  }

  /**
   * Creates the directories and repairs what a crash left (see file-recovery.ts), once per
   * process. Every method waits for it; a failure is not cached, so a later call retries (no
   * append can run before it succeeds, so the repair never races a writer).
   */
  init(): Promise<void> {
    this.#ready ??= this.#initialise().catch((err: unknown) => {
      this.#ready = undefined;
      const why = err instanceof Error ? err.message : String(err);
      throw new UploadServerError('INTERNAL', `cannot prepare the upload directory ${this.#layout.root}: ${why}`, { cause: err });
    });
    return this.#ready;
  }

  async status(ref: UploadRef): Promise<UploadStatus | undefined> {
    const key = await this.#prepare(ref);
    const reads = this.#reads.get(key) ?? { turns: 0, readers: 0 };
    this.#reads.set(key, reads);
    reads.readers++;
    try {
      for (let pass = 1; ; pass++) {
        const turns = reads.turns;
        const st = await this.#statusOnce(key);
        if (reads.turns === turns) return st;
        // Only a client restarting appends on its own upload without pause keeps this going.
        if (pass === MAX_STATUS_READS) throw new UploadServerError('UNAVAILABLE', 'the upload keeps changing while its status is read: try again');
      }
    } finally {
      if (--reads.readers === 0) this.#reads.delete(key);
    }
  }

  async #statusOnce(key: string): Promise<UploadStatus | undefined> {
    const done = await readJson<UploadMetadata>(this.#layout.complete(key, 'meta'));
    if (done) return { offset: done.size, size: done.size, complete: true, name: done.name };
    const st = await statOrUndefined(this.#layout.partial(key));
    if (!st) {
      // Complete data counts even before (or without) its metadata; this also covers a
      // completion that renamed the data between the two looks.
      const data = await statOrUndefined(this.#layout.complete(key));
      if (!data) return undefined;
      const late = await readJson<UploadMetadata>(this.#layout.complete(key, 'meta'));
      return { offset: data.size, size: data.size, complete: true, name: late?.name };
    }
    const meta = await readJson<PartialMeta>(this.#layout.partial(key, 'meta'));
    return { offset: this.#cap(key, st.size), size: meta?.size, complete: false, name: meta?.name };
  }

  async append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }> {
    const key = await this.#prepare(ref);
    const done = await this.#completedSize(key);
    if (done !== undefined) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: done, complete: true });
    const dataPath = this.#layout.partial(key);
    const guardPath = this.#layout.partial(key, 'guard');
    // An earlier append could not roll its unverified bytes back (or its completion failed): do it now.
    if (this.#ceiling.has(key)) {
      await rollBackToGuard(dataPath, guardPath, this.#writes.guard);
      this.#dropCeiling(key);
    }
    const held = await sizeOf(dataPath);
    if (held !== options.start) throw new UploadServerError('OFFSET_MISMATCH', undefined, { offset: held });
    const start = options.start;
    const fh = await open(dataPath, constants.O_RDWR | constants.O_CREAT, 0o600);
    this.#ceiling.set(key, start);
    this.#turn(key);
    // While true, the guard may hold `start`: bytes past it count only once verified.
    let guarded = false;
    let declared = options.size;
    try {
      const opened = (await fh.stat()).size;
      if (opened !== start) throw new UploadServerError('OFFSET_MISMATCH', undefined, { offset: opened });
      const digest = options.digest;
      // The guard is set before the metadata so that one directory fsync makes both entries durable.
      guarded = digest !== undefined;
      const guardCreated = digest ? await this.#writes.guard(guardPath, String(start)) : false;
      const { wrote, size } = await this.#writeMeta(ref, key, options);
      declared = size;
      if (guardCreated && !wrote) await fsyncDir(this.#layout.partialDir);
      // A digest-checked body is all or nothing: no checkpoints, its bytes count once verified.
      const checkpoints =
        digest === undefined
          ? new Checkpoints({
              policy: this.#checkpoint,
              now: () => this.#clock.now(),
              sync: () => this.#writes.sync(fh),
              reached: (offset) => this.#raise(key, offset),
              start,
            })
          : undefined;
      const out = await writeBody(fh, body, {
        position: start,
        maxBytes: options.maxBytes,
        hash: digest !== undefined,
        writeChunks: this.#writes.chunks,
        progress: checkpoints,
      });
      const durable = checkpoints?.durable ?? start;
      // Nothing past the last checkpoint is known durable: it goes, whatever else happened.
      if (checkpoints?.failure) await cutBack(fh, durable, checkpoints.failure.error);
      const verified = !!digest && !!out.sha256 && timingSafeEqual(out.sha256, digest);
      const failure =
        out.writeError !== undefined
          ? toServerError(out.writeError)
          : out.overflow
            ? new UploadServerError('TOO_LARGE')
            : out.bodyError !== undefined
              ? toServerError(out.bodyError)
              : digest && !verified
                ? new UploadServerError('DIGEST_MISMATCH')
                : undefined;
      // With a digest, anything short of a verified body is rolled back: only checked bytes count.
      if (digest && failure) await fh.truncate(start);
      const offset = await syncAndMeasure(fh, durable, this.#writes.sync);
      // A body that makes the upload whole is followed by complete() when the caller says so, which
      // retires the guard with the partial files; until then a crash rolls it back and the client,
      // never answered, resends. Otherwise the bytes are acknowledged now: the guard goes now.
      if (digest && (failure || offset !== size || options.completing !== true)) {
        await this.#writes.guard(guardPath, '');
        guarded = false;
      }
      if (failure) throw failure.withOffset(offset);
      return { offset };
    } catch (err) {
      // Whatever failed, unverified bytes must not outlive this append (nor be rolled back later
      // over bytes acknowledged in between): undo them now, or leave the ceiling for the next append.
      if (guarded && (await undoUnverified(fh, start, () => this.#writes.guard(guardPath, '')))) guarded = false;
      if (err instanceof UploadServerError && err.offset !== undefined) throw err;
      if (!guarded) this.#dropCeiling(key);
      throw toServerError(err, this.#cap(key, await sizeOf(dataPath)));
    } finally {
      if (!guarded) this.#dropCeiling(key);
      await fh.close();
      this.#index.set(ref.namespace, key, Math.max(declared ?? 0, await sizeOf(dataPath)));
    }
  }

  async complete(ref: UploadRef): Promise<CompletedUpload> {
    const key = await this.#prepare(ref);
    const path = this.#layout.complete(key);
    const stored = await readJson<UploadMetadata>(this.#layout.complete(key, 'meta'));
    if (stored) return { path, metadata: stored };
    // A retry after a failed metadata write finds the data already renamed.
    const partial = await statOrUndefined(this.#layout.partial(key));
    if (partial) {
      const declared = (await readJson<PartialMeta>(this.#layout.partial(key, 'meta')))?.size;
      if (declared !== undefined && partial.size !== declared) throw notWhole(partial.size, declared);
      // Awaiting onComplete, durably, before the upload can be seen as complete.
      await createDurably(this.#layout.complete(key, 'pending'));
      await rename(this.#layout.partial(key), path);
      this.#dropCeiling(key);
      this.#index.delete(key);
    } else if (!(await statOrUndefined(path))) {
      throw new UploadServerError('INTERNAL', 'no data to complete');
    }
    return { path, metadata: await this.#finish(ref, key) };
  }

  async remove(ref: UploadRef): Promise<boolean> {
    const key = await this.#prepare(ref);
    const done = await this.#completedSize(key);
    if (done !== undefined) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: done, complete: true });
    const existed = await this.#removePartial(key);
    // A completion that crashed before its rename left its marker: nothing to deliver now.
    await unlinkIfExists(this.#layout.complete(key, 'pending'));
    return existed;
  }

  async read(ref: UploadRef): Promise<AsyncIterable<Uint8Array> | undefined> {
    const key = await this.#prepare(ref);
    for (const path of [this.#layout.complete(key), this.#layout.partial(key)]) {
      if (await statOrUndefined(path)) return createReadStream(path);
    }
    return undefined;
  }

  async sweep(before: number, claim: SweepClaim): Promise<number> {
    await this.init();
    let removed = 0;
    for (const name of await readdir(this.#layout.partialDir)) {
      if (FileLayout.parse(name)?.kind !== 'data') continue;
      const lease = claim(name);
      if (!lease) continue;
      try {
        // Looked at only under the claim: a writer that just finished has touched the file.
        const st = await statOrUndefined(this.#layout.partial(name));
        if (st && st.mtimeMs < before && (await this.#removePartial(name))) {
          await unlinkIfExists(this.#layout.complete(name, 'pending'));
          removed++;
        }
      } finally {
        lease.release();
      }
    }
    return removed;
  }

  async usage(namespace: string): Promise<NamespaceUsage> {
    await this.init();
    return this.#index.usage(namespace);
  }

  async *unnotified(): AsyncGenerator<CompletedUpload> {
    await this.init();
    for (const name of await readdir(this.#layout.completeDir)) {
      const entry = FileLayout.parse(name);
      if (entry?.kind !== 'pending') continue;
      // Without metadata the completion is not finished (it will be, on the next touch or restart),
      // or never happened: a crash before the rename, the data still partial.
      const metadata = await readJson<UploadMetadata>(this.#layout.complete(entry.key, 'meta'));
      if (metadata) yield { path: this.#layout.complete(entry.key), metadata };
    }
  }

  async markNotified(ref: UploadRef): Promise<void> {
    const key = await this.#prepare(ref);
    // Not fsynced: should the removal be lost, the hook runs once more after a restart.
    await unlinkIfExists(this.#layout.complete(key, 'pending'));
  }

  /** Path of the finished file of an upload (for onComplete consumers and tests). */
  completedPath(ref: UploadRef): string {
    return this.#layout.complete(storageKey(ref));
  }

  /** A checkpoint of the append in flight made `offset` durable: status() may report it. */
  #raise(key: string, offset: number): void {
    const ceiling = this.#ceiling.get(key);
    if (ceiling !== undefined && ceiling < offset) this.#ceiling.set(key, offset);
  }

  #dropCeiling(key: string): void {
    if (this.#ceiling.delete(key)) this.#turn(key);
  }

  /** An append began or ended on the upload: a status() reading it now reads again. */
  #turn(key: string): void {
    const reads = this.#reads.get(key);
    if (reads !== undefined) reads.turns++;
  }

  #cap(key: string, size: number): number {
    const ceiling = this.#ceiling.get(key);
    return ceiling === undefined ? size : Math.min(size, ceiling);
  }

  async #removePartial(key: string): Promise<boolean> {
    const existed = await unlinkIfExists(this.#layout.partial(key));
    await unlinkIfExists(this.#layout.partial(key, 'meta'));
    await unlinkIfExists(this.#layout.partial(key, 'guard'));
    await fsyncDir(this.#layout.partialDir);
    this.#dropCeiling(key);
    this.#index.delete(key);
    return existed;
  }

  /** Records id, size and name durably before any byte of this upload is acknowledged. */
  async #writeMeta(ref: UploadRef, key: string, options: AppendOptions): Promise<{ wrote: boolean; size: number | undefined }> {
    const path = this.#layout.partial(key, 'meta');
    const meta = await readJson<PartialMeta>(path);
    const size = meta?.size ?? options.size;
    const name = meta?.name ?? options.name;
    if (meta && meta.size === size && meta.name === name) return { wrote: false, size };
    const next: PartialMeta = {
      id: ref.id,
      namespace: ref.namespace,
      ...(size === undefined ? {} : { size }),
      ...(name === undefined ? {} : { name }),
      createdAt: meta?.createdAt ?? new Date(this.#clock.now()).toISOString(),
    };
    // Also makes the new data file's directory entry durable (writeFileAtomic fsyncs the dir).
    await this.#writes.small(path, JSON.stringify(next));
    return { wrote: true, size };
  }

  /** Data in complete/ without its metadata; id and namespace come from partial/<key>.json. */
  async #finishCompletion(key: string): Promise<void> {
    const meta = await readJson<PartialMeta>(this.#layout.partial(key, 'meta'));
    // Without it the id is unknown; status() still reports the data as complete.
    if (meta) await this.#finish(meta, key);
  }

  /** Size of a finished upload, finishing its metadata when only the data made it (caller holds the writer lock). */
  async #completedSize(key: string): Promise<number | undefined> {
    const done = await readJson<UploadMetadata>(this.#layout.complete(key, 'meta'));
    if (done) return done.size;
    const data = await statOrUndefined(this.#layout.complete(key));
    if (!data) return undefined;
    await this.#finishCompletion(key);
    return data.size;
  }

  async #finish(ref: UploadRef, key: string): Promise<UploadMetadata> {
    const meta = await readJson<PartialMeta>(this.#layout.partial(key, 'meta'));
    const size = (await statOrUndefined(this.#layout.complete(key)))?.size ?? 0;
    const now = new Date(this.#clock.now()).toISOString();
    const metadata = completionMetadata({ ref, size, name: meta?.name, createdAt: meta?.createdAt ?? now, completedAt: now });
    await this.#writes.small(this.#layout.complete(key, 'meta'), JSON.stringify(metadata));
    // removePartial() fsyncs the partial directory, which also settles the rename out of it;
    // should a crash lose that, recovery sees complete/<key>.json and removes the leftovers.
    await this.#removePartial(key);
    return metadata;
  }

  async #prepare(ref: UploadRef): Promise<string> {
    await this.init();
    return storageKey(ref);
  }

  async #initialise(): Promise<void> {
    await mkdir(this.#layout.partialDir, { recursive: true });
    await mkdir(this.#layout.completeDir, { recursive: true });
    await recoverStore(this.#layout, {
      finishCompletion: (key) => this.#finishCompletion(key),
      removePartial: (key) => this.#removePartial(key),
    });
    await this.#index.load(this.#layout);
  }
}
