// Disk storage. Layout under `dir`, every name derived from storageKey(namespace, id):
//   partial/<key>        the bytes received so far: its length IS the offset
//   partial/<key>.json   id, namespace, size (once sent), name, createdAt; written before the first byte is acknowledged
//   partial/<key>.guard  empty, or the offset to roll back to while a digest-checked body is being appended
//   complete/<key>       the finished file (atomic rename from partial/)
//   complete/<key>.json  its UploadMetadata, written right after the rename; complete/<key> alone
//                        already counts as complete (startup recovery writes the missing metadata)
import { mkdir, open, readdir, rename } from 'node:fs/promises';
import { createReadStream, constants } from 'node:fs';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { UploadServerError, toServerError } from './errors.js';
import { fsyncDir, readJson, statOrUndefined, unlinkIfExists, writeFileAtomic } from './fs-util.js';
import { writeAll, writeBody, type WriteChunks } from './file-append.js';
import { recoverStore, type RecoveryTarget } from './file-recovery.js';
import { writeGuard } from './guard.js';
import { STORAGE_KEY_PATTERN, storageKey } from './storage.js';
import type { AppendOptions, CompletedUpload, SweepClaim, UploadMetadata, UploadRef, UploadStatus, UploadStorage } from './storage.js';
import { systemClock, type Clock } from './types.js';

export interface FileStoreOptions {
  readonly dir: string;
  readonly clock?: Clock;
  /** Test seam: how batches reach the file (e.g. to simulate ENOSPC). */
  readonly writeChunks?: WriteChunks;
}

interface PartialMeta {
  id: string;
  namespace: string;
  size?: number;
  name?: string;
  createdAt: string;
}

export class FileStore implements UploadStorage, RecoveryTarget {
  readonly partialDir: string;
  readonly completeDir: string;
  private readonly dir: string;
  private readonly clock: Clock;
  private readonly writeChunks: WriteChunks;
  private ready: Promise<void> | undefined;
  /** Offset already fsynced by an append in flight: status() reports no more than this. */
  private readonly durable = new Map<string, number>();

  constructor(options: FileStoreOptions) {
    this.dir = options.dir;
    this.partialDir = join(options.dir, 'partial');
    this.completeDir = join(options.dir, 'complete');
    this.clock = options.clock ?? systemClock;
    this.writeChunks = options.writeChunks ?? writeAll;
  }

  /**
   * Creates the directories and repairs what a crash left (see file-recovery.ts), once per
   * process. Every method waits for it; a failure is not cached, so a later call retries (no
   * append can run before it succeeds, so the repair never races a writer).
   */
  init(): Promise<void> {
    this.ready ??= this.initialise().catch((err: unknown) => {
      this.ready = undefined;
      const why = err instanceof Error ? err.message : String(err);
      throw new UploadServerError('INTERNAL', `cannot prepare the upload directory ${this.dir}: ${why}`, { cause: err });
    });
    return this.ready;
  }

  async status(ref: UploadRef): Promise<UploadStatus | undefined> {
    const key = await this.prepare(ref);
    const done = await readJson<UploadMetadata>(this.completePath(key, '.json'));
    if (done) return { offset: done.size, size: done.size, complete: true, name: done.name };
    const st = await statOrUndefined(this.partialPath(key));
    if (!st) {
      // Complete data counts even before (or without) its metadata; this also covers a
      // completion that renamed the data between the two looks.
      const data = await statOrUndefined(this.completePath(key));
      if (!data) return undefined;
      const late = await readJson<UploadMetadata>(this.completePath(key, '.json'));
      return { offset: data.size, size: data.size, complete: true, name: late?.name };
    }
    const meta = await readJson<PartialMeta>(this.partialPath(key, '.json'));
    const durable = this.durable.get(key);
    const offset = durable === undefined ? st.size : Math.min(st.size, durable);
    return { offset, size: meta?.size, complete: false, name: meta?.name };
  }

  async append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }> {
    const key = await this.prepare(ref);
    const done = await this.completedSize(key);
    if (done !== undefined) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: done, complete: true });
    const dataPath = this.partialPath(key);
    const held = await sizeOf(dataPath);
    if (held !== options.start) throw new UploadServerError('OFFSET_MISMATCH', undefined, { offset: held });
    const fh = await open(dataPath, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const start = (await fh.stat()).size;
      if (start !== options.start) throw new UploadServerError('OFFSET_MISMATCH', undefined, { offset: start });
      const digest = options.digest;
      // The guard is set before the metadata so that one directory fsync makes both entries durable.
      const guardCreated = digest ? await writeGuard(this.partialPath(key, '.guard'), String(start)) : false;
      const { wrote, size } = await this.writeMeta(ref, key, options);
      if (guardCreated && !wrote) await fsyncDir(this.partialDir);
      this.durable.set(key, start);
      const out = await writeBody(fh, body, {
        position: start,
        maxBytes: options.maxBytes,
        hash: digest !== undefined,
        writeChunks: this.writeChunks,
      });
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
      const offset = await syncAndMeasure(fh);
      // A body that makes the upload whole is followed by complete(), which retires the guard with
      // the partial files; until then a crash rolls it back and the client, never answered, resends.
      if (digest && (failure || offset !== size)) await writeGuard(this.partialPath(key, '.guard'), '');
      if (failure) throw failure.withOffset(offset);
      return { offset };
    } catch (err) {
      if (err instanceof UploadServerError && err.offset !== undefined) throw err;
      throw toServerError(err, await sizeOf(dataPath));
    } finally {
      this.durable.delete(key);
      await fh.close();
    }
  }

  async complete(ref: UploadRef): Promise<CompletedUpload> {
    const key = await this.prepare(ref);
    const path = this.completePath(key);
    // A retry after a failed metadata write finds the data already renamed.
    if ((await statOrUndefined(this.partialPath(key))) || !(await statOrUndefined(path))) {
      await rename(this.partialPath(key), path);
    }
    const metadata = await this.finish(ref, key);
    return { path, metadata };
  }

  async remove(ref: UploadRef): Promise<boolean> {
    const key = await this.prepare(ref);
    const done = await this.completedSize(key);
    if (done !== undefined) throw new UploadServerError('ALREADY_COMPLETE', undefined, { offset: done, complete: true });
    return this.removePartial(key);
  }

  async read(ref: UploadRef): Promise<AsyncIterable<Uint8Array> | undefined> {
    const key = await this.prepare(ref);
    for (const path of [this.completePath(key), this.partialPath(key)]) {
      if (await statOrUndefined(path)) return createReadStream(path);
    }
    return undefined;
  }

  async sweep(before: number, claim: SweepClaim): Promise<number> {
    await this.init();
    let removed = 0;
    for (const name of await readdir(this.partialDir)) {
      if (!STORAGE_KEY_PATTERN.test(name)) continue;
      const lease = claim(name);
      if (!lease) continue;
      try {
        // Looked at only under the claim: a writer that just finished has touched the file.
        const st = await statOrUndefined(join(this.partialDir, name));
        if (st && st.mtimeMs < before && (await this.removePartial(name))) removed++;
      } finally {
        lease.release();
      }
    }
    return removed;
  }

  /** Path of the finished file of an upload (for onComplete consumers and tests). */
  completedPath(ref: UploadRef): string {
    return this.completePath(storageKey(ref));
  }

  async removePartial(key: string): Promise<boolean> {
    const existed = await unlinkIfExists(this.partialPath(key));
    await unlinkIfExists(this.partialPath(key, '.json'));
    await unlinkIfExists(this.partialPath(key, '.guard'));
    await fsyncDir(this.partialDir);
    return existed;
  }

  /** Records id, size and name durably before any byte of this upload is acknowledged. */
  private async writeMeta(ref: UploadRef, key: string, options: AppendOptions): Promise<{ wrote: boolean; size: number | undefined }> {
    const path = this.partialPath(key, '.json');
    const meta = await readJson<PartialMeta>(path);
    const size = meta?.size ?? options.size;
    const name = meta?.name ?? options.name;
    if (meta && meta.size === size && meta.name === name) return { wrote: false, size };
    const next: PartialMeta = {
      id: ref.id,
      namespace: ref.namespace,
      ...(size === undefined ? {} : { size }),
      ...(name === undefined ? {} : { name }),
      createdAt: meta?.createdAt ?? new Date(this.clock.now()).toISOString(),
    };
    // Also makes the new data file's directory entry durable (writeFileAtomic fsyncs the dir).
    await writeFileAtomic(path, JSON.stringify(next));
    return { wrote: true, size };
  }

  /** Startup recovery: data in complete/ without its metadata; id and namespace come from partial/<key>.json. */
  async finishCompletion(key: string): Promise<void> {
    const meta = await readJson<PartialMeta>(this.partialPath(key, '.json'));
    // Without it the id is unknown; status() still reports the data as complete.
    if (meta) await this.finish(meta, key);
  }

  /** Size of a finished upload, finishing its metadata when only the data made it (caller holds the writer lock). */
  private async completedSize(key: string): Promise<number | undefined> {
    const done = await readJson<UploadMetadata>(this.completePath(key, '.json'));
    if (done) return done.size;
    const data = await statOrUndefined(this.completePath(key));
    if (!data) return undefined;
    await this.finishCompletion(key);
    return data.size;
  }

  private async finish(ref: UploadRef, key: string): Promise<UploadMetadata> {
    const meta = await readJson<PartialMeta>(this.partialPath(key, '.json'));
    const size = (await statOrUndefined(this.completePath(key)))?.size ?? 0;
    const metadata: UploadMetadata = {
      id: ref.id,
      namespace: ref.namespace,
      size,
      ...(meta?.name === undefined ? {} : { name: meta.name }),
      createdAt: meta?.createdAt ?? new Date(this.clock.now()).toISOString(),
      completedAt: new Date(this.clock.now()).toISOString(),
    };
    await writeFileAtomic(this.completePath(key, '.json'), JSON.stringify(metadata));
    // removePartial() fsyncs the partial directory, which also settles the rename out of it;
    // should a crash lose that, recovery sees complete/<key>.json and removes the leftovers.
    await this.removePartial(key);
    return metadata;
  }

  private async prepare(ref: UploadRef): Promise<string> {
    await this.init();
    return storageKey(ref);
  }

  private async initialise(): Promise<void> {
    await mkdir(this.partialDir, { recursive: true });
    await mkdir(this.completeDir, { recursive: true });
    await recoverStore(this);
  }

  private partialPath(key: string, suffix = ''): string {
    return join(this.partialDir, key + suffix);
  }

  private completePath(key: string, suffix = ''): string {
    return join(this.completeDir, key + suffix);
  }
}

async function syncAndMeasure(fh: import('node:fs/promises').FileHandle): Promise<number> {
  try {
    await fh.sync();
  } catch (err) {
    throw toServerError(err, (await fh.stat()).size);
  }
  return (await fh.stat()).size;
}

async function sizeOf(path: string): Promise<number> {
  return (await statOrUndefined(path))?.size ?? 0;
}
