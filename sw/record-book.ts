// The engine's records in memory, written through to the store in order, and the events that
// tell the pages about them. The only path to the RecordStore. Memory is the truth inside one
// worker instance, so concurrent steps never race on read-modify-write.
import { UploadError, type UploadEvent } from '../src/protocol/index.js';
import { byAge, toView, type UploadRecord } from './record.js';
import type { RecordStore } from './record-store.js';
import type { StoredFile } from './stored-file.js';
import { transition, type UploadAction } from './transitions.js';

export class RecordBook {
  readonly #records = new Map<string, UploadRecord>();
  readonly #store: RecordStore;
  readonly #now: () => number;
  readonly #notify: (event: UploadEvent) => void;
  /** Store writes, in order: a later put or delete never overtakes an earlier one. */
  #writes: Promise<void> = Promise.resolve();

  constructor(store: RecordStore, now: () => number, notify: (event: UploadEvent) => void) {
    this.#store = store;
    this.#now = now;
    this.#notify = notify;
  }

  /** Reads every stored record into memory and drops files an interrupted add left behind. */
  async load(): Promise<UploadRecord[]> {
    const records = await this.#store.list();
    for (const record of records) this.#records.set(record.id, record);
    await this.#store.repair();
    return this.all();
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

  /** Records of this file at this endpoint, as this worker knows them now. */
  async findByFile(fileId: string, endpoint: string): Promise<UploadRecord[]> {
    await this.flush();
    const found = await this.#store.findByFile(fileId, endpoint);
    return found.map((r) => this.#records.get(r.id) ?? r);
  }

  /** Stores a new record with its file (all or nothing), then announces it. */
  async add(record: UploadRecord, file: Blob): Promise<UploadRecord> {
    await this.flush();
    const stored = await this.#store.add(record, file);
    this.#records.set(stored.id, stored);
    this.emit('state', stored);
    return stored;
  }

  /** The stored file of an upload, or undefined when it is gone. */
  file(record: UploadRecord): Promise<StoredFile | undefined> {
    return this.#store.file(record);
  }

  /**
   * The one way a state changes: applies `action` through the state machine with `patch`, writes
   * the record and tells the pages (`state`; `complete` once done; `error` or `unauthorized`
   * when `error` is given). Reaching `done` also drops the file, in the same transaction.
   * Throws `INVALID_STATE` when the action does not apply.
   */
  move(id: string, action: UploadAction, patch: Partial<UploadRecord> = {}, error?: UploadError): UploadRecord {
    const current = this.get(id);
    const state = transition(current.state, action);
    const record: UploadRecord = {
      ...current,
      // `sent` describes a request under way: a state change ends it.
      sent: undefined,
      ...patch,
      state,
      ...(error === undefined ? {} : { error: error.toInfo() }),
      updatedAt: this.#now(),
    };
    this.#records.set(id, record);
    if (state === 'done') this.#write((store) => store.finish(record));
    else this.#write((store) => store.put(record));
    this.emit('state', record);
    if (state === 'done') this.emit('complete', record);
    if (error !== undefined) {
      const type = error.recovery === 'needs-credentials' ? 'unauthorized' : 'error';
      this.#notify({ type, upload: toView(record), error: error.toInfo() });
    }
    return record;
  }

  /** Changes fields other than the state, writes them, and tells nobody (the caller may emit). */
  update(id: string, patch: Partial<Omit<UploadRecord, 'state'>>): UploadRecord {
    const record: UploadRecord = { ...this.get(id), ...patch, updatedAt: this.#now() };
    this.#records.set(id, record);
    this.#write((store) => store.put(record));
    return record;
  }

  /** Changes fields in memory only (nothing written): what matters only while this worker runs. */
  note(id: string, patch: Partial<Pick<UploadRecord, 'sent'>>): UploadRecord {
    const record: UploadRecord = { ...this.get(id), ...patch };
    this.#records.set(id, record);
    return record;
  }

  dropFile(id: string): Promise<void> {
    return this.#write((store) => store.dropFile(id));
  }

  remove(id: string): void {
    this.#records.delete(id);
    this.#write((store) => store.delete(id));
    this.#notify({ type: 'removed', uploadId: id });
  }

  /** Waits for every queued write. */
  async flush(): Promise<void> {
    await this.#writes;
  }

  emit(type: 'state' | 'progress' | 'complete', record: UploadRecord): void {
    this.#notify({ type, upload: toView(record) });
  }

  /** Queues a store operation behind the earlier ones. A failure is swallowed, never thrown. */
  #write(operation: (store: RecordStore) => Promise<void>): Promise<void> {
    this.#writes = this.#writes.then(() => operation(this.#store)).catch(() => {
      // The record stays right in memory; the next write of it may succeed.
    });
    return this.#writes;
  }
}
