// The engine's records in memory, written through to the store in order. Memory is the truth
// inside one worker instance, so concurrent steps never race on read-modify-write.
import { UploadError, type UploadEvent } from '../src/protocol/index.js';
import { byAge, toView, type UploadRecord } from './record.js';
import type { UploadStore } from './store.js';

export class RecordBook {
  readonly #records = new Map<string, UploadRecord>();
  readonly #store: UploadStore;
  readonly #now: () => number;
  readonly #notify: (event: UploadEvent) => void;
  /** Store writes, in order: a later put or delete never overtakes an earlier one. */
  #writes: Promise<void> = Promise.resolve();

  constructor(store: UploadStore, now: () => number, notify: (event: UploadEvent) => void) {
    this.#store = store;
    this.#now = now;
    this.#notify = notify;
  }

  get store(): UploadStore {
    return this.#store;
  }

  /** The record, or `NOT_FOUND`. */
  get(id: string): UploadRecord {
    const record = this.#records.get(id);
    if (record === undefined) throw new UploadError('NOT_FOUND', `No upload ${id}`);
    return record;
  }

  find(id: string): UploadRecord | undefined {
    return this.#records.get(id);
  }

  /** Every record, oldest first. */
  all(): UploadRecord[] {
    return [...this.#records.values()].sort(byAge);
  }

  /** Takes a record that is already stored (loaded or just added). */
  adopt(record: UploadRecord): void {
    this.#records.set(record.id, record);
  }

  /** Applies `patch`, stamps `updatedAt` and queues the write. */
  update(id: string, patch: Partial<UploadRecord>): UploadRecord {
    const record: UploadRecord = { ...this.get(id), ...patch, updatedAt: this.#now() };
    this.#records.set(id, record);
    this.write((store) => store.put(record));
    return record;
  }

  /**
   * Applies `patch` to a finished upload and queues one store write of the record together with
   * the deletion of its Blob: if that write fails, both stay as they were (the Blob kept).
   */
  finish(id: string, patch: Partial<UploadRecord>): UploadRecord {
    const record: UploadRecord = { ...this.get(id), ...patch, updatedAt: this.#now() };
    this.#records.set(id, record);
    this.write((store) => store.finish(record));
    return record;
  }

  remove(id: string): void {
    this.#records.delete(id);
    this.write((store) => store.delete(id));
    this.#notify({ type: 'removed', uploadId: id });
  }

  /** Queues a store operation behind the earlier ones. A failure is swallowed, never thrown. */
  write(operation: (store: UploadStore) => Promise<void>): Promise<void> {
    this.#writes = this.#writes.then(() => operation(this.#store)).catch(() => {
      // The record stays right in memory; the next write of it may succeed.
    });
    return this.#writes;
  }

  /** Waits for every queued write. */
  async flush(): Promise<void> {
    await this.#writes;
  }

  emit(type: 'state' | 'progress' | 'complete', record: UploadRecord): void {
    this.#notify({ type, upload: toView(record) });
  }

  emitError(record: UploadRecord, error: UploadError): void {
    this.#notify({ type: 'error', upload: toView(record), error: error.toInfo() });
  }
}
