// UploadStore in memory: for tests and for engines that need no persistence.
import type { UploadRecord } from './record.js';
import { storageError, type UploadStore } from './store.js';

export interface MemoryUploadStoreOptions {
  /** Total bytes of Blobs it accepts; beyond it `add` fails as a full disk would. */
  readonly quotaBytes?: number;
}

/** A store that lives as long as the object. Records are copied in and out like IDB would. */
export class MemoryUploadStore implements UploadStore {
  readonly #records = new Map<string, UploadRecord>();
  readonly #blobs = new Map<string, Blob>();
  readonly #quotaBytes: number;

  constructor(options: MemoryUploadStoreOptions = {}) {
    this.#quotaBytes = options.quotaBytes ?? Number.POSITIVE_INFINITY;
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    const record = this.#records.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  async list(): Promise<UploadRecord[]> {
    return [...this.#records.values()].map((r) => structuredClone(r));
  }

  async findByFile(fileId: string, endpoint: string): Promise<UploadRecord[]> {
    return (await this.list()).filter((r) => r.fileId === fileId && r.endpoint === endpoint);
  }

  async put(record: UploadRecord): Promise<void> {
    this.#records.set(record.id, structuredClone(record));
  }

  async add(record: UploadRecord, blob: Blob): Promise<void> {
    if (this.#records.has(record.id)) throw storageError(new Error(`upload ${record.id} exists`), 'store the file');
    let used = 0;
    for (const b of this.#blobs.values()) used += b.size;
    if (used + blob.size > this.#quotaBytes) {
      throw storageError(Object.assign(new Error('quota exceeded'), { name: 'QuotaExceededError' }), 'store the file');
    }
    this.#records.set(record.id, structuredClone(record));
    this.#blobs.set(record.id, blob);
  }

  async getBlob(id: string): Promise<Blob | undefined> {
    return this.#blobs.get(id);
  }

  async deleteBlob(id: string): Promise<void> {
    this.#blobs.delete(id);
  }

  async finish(record: UploadRecord): Promise<void> {
    this.#records.set(record.id, structuredClone(record));
    this.#blobs.delete(record.id);
  }

  async delete(id: string): Promise<void> {
    this.#records.delete(id);
    this.#blobs.delete(id);
  }

  close(): void {
    // nothing to release
  }
}
