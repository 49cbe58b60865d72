// RecordStore on IndexedDB (through db.ts, the one module that knows idb).
import { UploadError } from '../src/protocol/index.js';
import { BLOBS_STORE, CHUNKS_STORE, DB_NAME, UPLOADS_STORE, openUploadDb, type UploadDb } from './db.js';
import type { FileStorage, UploadRecord } from './record.js';
import { storageError, type RecordStore } from './record-store.js';
import { blobFile, chunkSpan, sliceOfChunks, type StoredFile } from './stored-file.js';

/** Size of one ArrayBuffer chunk of the fallback: the most a store or read holds in memory at once. */
export const FALLBACK_CHUNK_BYTES = 4 * 1024 * 1024;

export interface IdbRecordStoreOptions {
  /** Defaults to the global `indexedDB`. */
  readonly factory?: IDBFactory;
  /** Database name, default `resilient-upload`. */
  readonly name?: string;
  /**
   * `'blob'` (default): store the file as a Blob, and fall back to ArrayBuffer chunks only when
   * the engine fails to store it. `'chunks'`: always chunks (to test the fallback in any engine).
   */
  readonly files?: 'blob' | 'chunks';
  readonly chunkBytes?: number;
}

/** The production store. Opens lazily and reopens when the browser closed the connection. */
export class IdbRecordStore implements RecordStore {
  readonly #factory: IDBFactory | undefined;
  readonly #name: string;
  readonly #files: 'blob' | 'chunks';
  readonly #chunkBytes: number;
  #db: Promise<UploadDb> | undefined;

  constructor(options: IdbRecordStoreOptions = {}) {
    this.#factory = options.factory;
    this.#name = options.name ?? DB_NAME;
    this.#files = options.files ?? 'blob';
    this.#chunkBytes = options.chunkBytes ?? FALLBACK_CHUNK_BYTES;
  }

  list(): Promise<UploadRecord[]> {
    return this.#run('list uploads', (db) => db.getAll(UPLOADS_STORE));
  }

  async put(record: UploadRecord): Promise<void> {
    await this.#run('save an upload', (db) => db.put(UPLOADS_STORE, record));
  }

  async add(record: UploadRecord, file: Blob): Promise<UploadRecord> {
    if (this.#files === 'blob') {
      const asBlob: UploadRecord = { ...record, storage: { kind: 'blob' } };
      try {
        await this.#run('store the file', async (db) => {
          const tx = db.transaction([UPLOADS_STORE, BLOBS_STORE], 'readwrite');
          // Both writes in one transaction: a quota error aborts it and leaves neither.
          await allOrNothing(tx, (watch) => {
            watch(tx.objectStore(UPLOADS_STORE).add(asBlob));
            watch(tx.objectStore(BLOBS_STORE).put(file, record.id));
          });
        });
        return asBlob;
      } catch (error) {
        // A full disk or a taken id is final; anything else may be the engine failing to keep a Blob.
        if (error instanceof UploadError && (error.code === 'QUOTA_EXCEEDED' || causeName(error) === 'ConstraintError')) throw error;
      }
    }
    return this.#addChunks(record, file);
  }

  async file(record: UploadRecord): Promise<StoredFile | undefined> {
    const storage = record.storage ?? { kind: 'blob' };
    if (storage.kind === 'blob') {
      const blob = await this.#run('read the file', (db) => db.get(BLOBS_STORE, record.id));
      return blob === undefined ? undefined : blobFile(blob);
    }
    const first = await this.#run('read the file', (db) => db.getKey(CHUNKS_STORE, [record.id, 0]));
    if (first === undefined && record.size > 0) return undefined;
    return chunkedFile(record.id, record.size, storage, (lower, upper) =>
      this.#run('read the file', (db) => db.getAll(CHUNKS_STORE, IDBKeyRange.bound(lower, upper))),
    );
  }

  async dropFile(id: string): Promise<void> {
    await this.#run('delete the file', async (db) => {
      const tx = db.transaction([BLOBS_STORE, CHUNKS_STORE], 'readwrite');
      await Promise.all([tx.objectStore(BLOBS_STORE).delete(id), tx.objectStore(CHUNKS_STORE).delete(chunkRange(id)), tx.done]);
    });
  }

  async finish(record: UploadRecord): Promise<void> {
    await this.#run('save the finished upload', async (db) => {
      const tx = db.transaction([UPLOADS_STORE, BLOBS_STORE, CHUNKS_STORE], 'readwrite');
      await allOrNothing(tx, (watch) => {
        watch(tx.objectStore(UPLOADS_STORE).put(record));
        watch(tx.objectStore(BLOBS_STORE).delete(record.id));
        watch(tx.objectStore(CHUNKS_STORE).delete(chunkRange(record.id)));
      });
    });
  }

  async delete(id: string): Promise<void> {
    await this.#run('delete an upload', async (db) => {
      const tx = db.transaction([UPLOADS_STORE, BLOBS_STORE, CHUNKS_STORE], 'readwrite');
      await Promise.all([
        tx.objectStore(UPLOADS_STORE).delete(id),
        tx.objectStore(BLOBS_STORE).delete(id),
        tx.objectStore(CHUNKS_STORE).delete(chunkRange(id)),
        tx.done,
      ]);
    });
  }

  async repair(): Promise<number> {
    return this.#run('repair the store', async (db) => {
      const tx = db.transaction([UPLOADS_STORE, BLOBS_STORE, CHUNKS_STORE], 'readwrite');
      const ids = new Set(await tx.objectStore(UPLOADS_STORE).getAllKeys());
      const orphans = new Set<string>();
      for (const key of await tx.objectStore(BLOBS_STORE).getAllKeys()) if (!ids.has(key)) orphans.add(key);
      for (const [id] of await tx.objectStore(CHUNKS_STORE).getAllKeys()) if (!ids.has(id)) orphans.add(id);
      await Promise.all([
        ...[...orphans].flatMap((id) => [tx.objectStore(BLOBS_STORE).delete(id), tx.objectStore(CHUNKS_STORE).delete(chunkRange(id))]),
        tx.done,
      ]);
      return orphans.size;
    });
  }

  close(): void {
    const db = this.#db;
    this.#db = undefined;
    void db?.then((d) => d.close(), () => undefined);
  }

  /**
   * The fallback: the file as ArrayBuffer chunks, one read and one transaction per chunk (a
   * transaction cannot stay open across the read), the record written with the last chunk. Any
   * failure deletes the chunks written so far; a crash half way leaves chunks without a record,
   * which `repair()` removes. Memory holds one chunk at a time.
   */
  async #addChunks(record: UploadRecord, file: Blob): Promise<UploadRecord> {
    const count = Math.max(1, Math.ceil(file.size / this.#chunkBytes));
    const stored: UploadRecord = { ...record, storage: { kind: 'chunks', chunkBytes: this.#chunkBytes, count } };
    // The rollback below deletes chunks by id: it must never be another upload's.
    if ((await this.#run('store the file', (db) => db.getKey(UPLOADS_STORE, record.id))) !== undefined) {
      throw new UploadError('STORAGE', `IndexedDB failed to store the file: upload ${record.id} exists`);
    }
    try {
      for (let index = 0; index < count; index++) {
        let bytes: ArrayBuffer;
        try {
          bytes = await file.slice(index * this.#chunkBytes, (index + 1) * this.#chunkBytes).arrayBuffer();
        } catch (cause) {
          throw new UploadError('STORAGE', `The file could not be read to store it: ${String((cause as Error)?.message ?? cause)}`, { cause });
        }
        const last = index === count - 1;
        await this.#run('store the file', async (db) => {
          const tx = db.transaction([UPLOADS_STORE, CHUNKS_STORE], 'readwrite');
          await allOrNothing(tx, (watch) => {
            watch(tx.objectStore(CHUNKS_STORE).put(bytes, [record.id, index]));
            if (last) watch(tx.objectStore(UPLOADS_STORE).add(stored));
          });
        });
      }
      return stored;
    } catch (error) {
      await this.dropFile(record.id).catch(() => undefined);
      throw error;
    }
  }

  #open(): Promise<UploadDb> {
    if (this.#db === undefined) {
      const opening = openUploadDb(this.#factory ?? indexedDB, this.#name).then((db) => {
        // The browser may close the connection (storage cleared, version change): reopen next time.
        db.addEventListener('close', () => this.#forget(opening));
        db.addEventListener('versionchange', () => {
          db.close();
          this.#forget(opening);
        });
        return db;
      });
      opening.catch(() => this.#forget(opening));
      this.#db = opening;
    }
    return this.#db;
  }

  #forget(db: Promise<UploadDb>): void {
    if (this.#db === db) this.#db = undefined;
  }

  async #run<T>(action: string, fn: (db: UploadDb) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.#open());
    } catch (error) {
      throw storageError(error, action);
    }
  }
}

function causeName(error: UploadError): unknown {
  return (error.cause as { name?: unknown } | undefined)?.name;
}

function chunkRange(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]);
}

function chunkedFile(
  id: string,
  size: number,
  storage: Extract<FileStorage, { kind: 'chunks' }>,
  read: (lower: [string, number], upper: [string, number]) => Promise<ArrayBuffer[]>,
): StoredFile {
  return {
    size,
    async slice(start, end) {
      if (end <= start) return new Blob([]);
      const { first, last, skip } = chunkSpan(start, end, storage.chunkBytes);
      return sliceOfChunks(await read([id, first], [id, last]), skip, end - start);
    },
  };
}

/**
 * Starts the requests of `tx` and waits for them and its completion. On the first failure (also
 * a synchronous throw, as a full disk may give) aborts the transaction, so none of its writes
 * stay, and rethrows. Every promise is observed at once: after an abort the others reject too
 * and must not go unhandled.
 */
async function allOrNothing(
  tx: { readonly done: Promise<void>; abort(): void },
  start: (watch: (request: Promise<unknown>) => void) => void,
): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const watch = (p: Promise<unknown>): void => {
    p.catch(() => undefined);
    pending.push(p);
  };
  watch(tx.done);
  try {
    start(watch);
    await Promise.all(pending);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // already finished or aborted by the browser
    }
    throw error;
  }
}

