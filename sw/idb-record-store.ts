// UploadStore on IndexedDB (through db.ts, the one module that knows idb).
import { BLOBS_STORE, BY_FILE_INDEX, DB_NAME, UPLOADS_STORE, openUploadDb, type UploadDb } from './db.js';
import type { UploadRecord } from './record.js';
import { storageError, type UploadStore } from './store.js';

export interface IdbUploadStoreOptions {
  /** Defaults to the global `indexedDB`. */
  readonly factory?: IDBFactory;
  /** Database name, default `resilient-upload`. */
  readonly name?: string;
}

/** The production store. Opens lazily and reopens when the browser closed the connection. */
export class IdbUploadStore implements UploadStore {
  readonly #factory: IDBFactory | undefined;
  readonly #name: string;
  #db: Promise<UploadDb> | undefined;

  constructor(options: IdbUploadStoreOptions = {}) {
    this.#factory = options.factory;
    this.#name = options.name ?? DB_NAME;
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    return this.#run('read an upload', (db) => db.get(UPLOADS_STORE, id));
  }

  async list(): Promise<UploadRecord[]> {
    return this.#run('list uploads', (db) => db.getAll(UPLOADS_STORE));
  }

  async findByFile(fileId: string, endpoint: string): Promise<UploadRecord[]> {
    return this.#run('find an upload', (db) => db.getAllFromIndex(UPLOADS_STORE, BY_FILE_INDEX, [fileId, endpoint]));
  }

  async put(record: UploadRecord): Promise<void> {
    await this.#run('save an upload', (db) => db.put(UPLOADS_STORE, record));
  }

  async add(record: UploadRecord, blob: Blob): Promise<void> {
    await this.#run('store the file', async (db) => {
      const tx = db.transaction([UPLOADS_STORE, BLOBS_STORE], 'readwrite');
      // Both writes in one transaction: a quota error aborts it and leaves neither.
      await allOrNothing(tx, (watch) => {
        watch(tx.objectStore(UPLOADS_STORE).add(record));
        watch(tx.objectStore(BLOBS_STORE).put(blob, record.id));
      });
    });
  }

  async getBlob(id: string): Promise<Blob | undefined> {
    return this.#run('read the file', (db) => db.get(BLOBS_STORE, id));
  }

  async deleteBlob(id: string): Promise<void> {
    await this.#run('delete the file', (db) => db.delete(BLOBS_STORE, id));
  }

  async finish(record: UploadRecord): Promise<void> {
    await this.#run('save the finished upload', async (db) => {
      const tx = db.transaction([UPLOADS_STORE, BLOBS_STORE], 'readwrite');
      await allOrNothing(tx, (watch) => {
        watch(tx.objectStore(UPLOADS_STORE).put(record));
        watch(tx.objectStore(BLOBS_STORE).delete(record.id));
      });
    });
  }

  async delete(id: string): Promise<void> {
    await this.#run('delete an upload', async (db) => {
      const tx = db.transaction([UPLOADS_STORE, BLOBS_STORE], 'readwrite');
      await Promise.all([tx.objectStore(UPLOADS_STORE).delete(id), tx.objectStore(BLOBS_STORE).delete(id), tx.done]);
    });
  }

  close(): void {
    const db = this.#db;
    this.#db = undefined;
    void db?.then((d) => d.close(), () => undefined);
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
