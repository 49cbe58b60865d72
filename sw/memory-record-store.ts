// RecordStore in memory: for tests and for engines that need no persistence.
import type { UploadRecord } from './record.js';
import { storageError, type RecordStore } from './record-store.js';
import { blobFile, type StoredFile } from './stored-file.js';

export interface MemoryRecordStoreOptions {
  /** Total bytes of files it accepts; beyond it `add` fails as a full disk would. */
  readonly quotaBytes?: number;
}

/** A store that lives as long as the object. Records are copied in and out like IDB would. */
export class MemoryRecordStore implements RecordStore {
  readonly #records = new Map<string, UploadRecord>();
  readonly #files = new Map<string, Blob>();
  readonly #quotaBytes: number;

  constructor(options: MemoryRecordStoreOptions = {}) {
    this.#quotaBytes = options.quotaBytes ?? Number.POSITIVE_INFINITY;
  }

  async list(): Promise<UploadRecord[]> {
    return [...this.#records.values()].map((r) => structuredClone(r));
  }

  async put(record: UploadRecord): Promise<void> {
    this.#records.set(record.id, structuredClone(record));
  }

  async add(record: UploadRecord, file: Blob): Promise<UploadRecord> {
    if (this.#records.has(record.id)) throw storageError(new Error(`upload ${record.id} exists`), 'store the file');
    let used = 0;
    for (const b of this.#files.values()) used += b.size;
    if (used + file.size > this.#quotaBytes) {
      throw storageError(Object.assign(new Error('quota exceeded'), { name: 'QuotaExceededError' }), 'store the file');
    }
    const stored: UploadRecord = { ...record, storage: { kind: 'blob' } };
    this.#records.set(record.id, structuredClone(stored));
    this.#files.set(record.id, file);
    return stored;
  }

  async file(record: UploadRecord): Promise<StoredFile | undefined> {
    const blob = this.#files.get(record.id);
    return blob === undefined ? undefined : blobFile(blob);
  }

  async dropFile(id: string): Promise<void> {
    this.#files.delete(id);
  }

  async finish(record: UploadRecord): Promise<void> {
    this.#records.set(record.id, structuredClone(record));
    this.#files.delete(record.id);
  }

  async delete(id: string): Promise<void> {
    this.#records.delete(id);
    this.#files.delete(id);
  }

  async repair(): Promise<number> {
    let removed = 0;
    for (const id of this.#files.keys()) {
      if (!this.#records.has(id)) {
        this.#files.delete(id);
        removed++;
      }
    }
    return removed;
  }

  close(): void {
    // nothing to release
  }
}
