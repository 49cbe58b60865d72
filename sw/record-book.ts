// The engine's records in memory, written through to the store in order, and the events that
// tell the pages about them. The only path to the RecordStore. Memory is the truth inside one
// worker instance, so concurrent steps never race on read-modify-write.
import { UploadError, type UploadEvent } from '../src/protocol/index.js';
import { byAge, toView, type UploadRecord } from './record.js';
import type { RecordStore } from './record-store.js';
import { blobFile, wholeFrom, type StoredFile } from './stored-file.js';
import { transition, type UploadAction } from './transitions.js';

export class RecordBook {
  readonly #records = new Map<string, UploadRecord>();
  readonly #store: RecordStore;
  readonly #now: () => number;
  readonly #notify: (event: UploadEvent) => void;
  /**
   * Each upload's writes, in order: a later put or delete of it never overtakes an earlier one.
   * Different uploads' writes do not wait for each other, nor for other files' stores.
   */
  readonly #lanes = new Map<string, Promise<void>>();
  /**
   * The adds' file stores, one at a time. A store holds IndexedDB for 10–170 ms per 16 MiB and
   * the browser runs overlapping transactions in the order they were made, so a store is begun
   * only when the one before it ends: another upload's put then waits for one store at most.
   */
  #stores: Promise<unknown> = Promise.resolve();
  /** Uploads whose add has yet to begin its store (which writes the record as memory then holds it). */
  readonly #queuedAdds = new Set<string>();
  /** Files of uploads being added, until the store holds them. */
  readonly #storing = new Map<string, Blob>();
  /** Uploads whose add failed: none of their writes may reach the store. */
  readonly #unstored = new Set<string>();
  /** Uploads whose record, as memory holds it, the store failed to take (its next write tries again). */
  readonly #unsaved = new Set<string>();
  /**
   * The File each upload was added from, while this worker lives and until a run with it fails:
   * a request for the whole file sends it rather than the stored copy (see `wholeFrom`). After
   * a failure the stored copy serves: the file on disk may have changed since it was picked (a
   * browser then refuses to read it), and the copy is what was picked.
   */
  readonly #picked = new Map<string, Blob>();

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

  /** Records of this file at this endpoint (memory holds every record since `load`). */
  byFile(fileId: string, endpoint: string): UploadRecord[] {
    return this.all().filter((r) => r.fileId === fileId && r.endpoint === endpoint);
  }

  /** Bytes of the files being stored now, of uploads still to be sent (a finished or cancelled one's copy is dropped right after). */
  storingBytes(): number {
    let bytes = 0;
    for (const [id, file] of this.#storing) {
      const state = this.#records.get(id)?.state;
      if (state !== 'done' && state !== 'cancelled') bytes += file.size;
    }
    return bytes;
  }

  /**
   * Adds a new upload: the record is known and announced at once, and its file is read from
   * `file` until the store holds it, so sending can start while the bytes are being written.
   * Resolves once the record and its file are stored (all or nothing). When storing fails,
   * nothing of the upload is written from then on and this rejects: the caller stops what it
   * started and calls `discard`.
   */
  add(record: UploadRecord, file: Blob): Promise<UploadRecord> {
    const id = record.id;
    this.#records.set(id, record);
    this.#storing.set(id, file);
    this.#picked.set(id, file);
    this.emit('state', record);
    this.#queuedAdds.add(id);
    const adding = this.#stores.then(async () => {
      this.#queuedAdds.delete(id);
      // The record as it stands now. Cancelled or finished before this began: its file is not
      // needed any more (nor counted in the quota check), only its record.
      const now = this.#records.get(id) ?? record;
      if (now.state === 'cancelled' || now.state === 'done') {
        await this.#store.put(now);
        return now;
      }
      const stored = await this.#store.add(now, file);
      // How the file was kept is the store's word; the rest may have moved on meanwhile.
      const latest = this.#records.get(id);
      if (latest !== undefined) this.#records.set(id, { ...latest, storage: stored.storage });
      return stored;
    });
    this.#stores = adding.catch(() => undefined);
    // First in the upload's lane: whatever is written of this upload meanwhile lands after it.
    this.#queue(
      id,
      adding.then(
        () => void this.#storing.delete(id),
        () => {
          this.#storing.delete(id);
          this.#unstored.add(id);
        },
      ),
    );
    return adding.then((stored) => this.#records.get(id) ?? stored);
  }

  /** Whether the upload's add is still storing its file. */
  isStoring(id: string): boolean {
    return this.#storing.has(id) || this.#unstored.has(id);
  }

  /**
   * An upload whose add failed but which finished meanwhile: its record is written after all
   * (a finished upload needs no file) and stays.
   */
  keepFinished(id: string): UploadRecord {
    this.#unstored.delete(id);
    this.#writeRecord(id, 'finish');
    return this.get(id);
  }

  /** Forgets an upload whose add failed (nothing of it is stored) and tells the pages. */
  discard(id: string): void {
    this.#records.delete(id);
    this.#picked.delete(id);
    this.#unstored.delete(id);
    this.#notify({ type: 'removed', uploadId: id });
  }

  /**
   * The stored file of an upload: the page's File while it is being stored; then, while that File
   * is known, the whole file from it and any part from the stored copy (read when first needed);
   * else the stored copy, or undefined when it is gone.
   */
  async file(record: UploadRecord): Promise<StoredFile | undefined> {
    const storing = this.#storing.get(record.id);
    if (storing !== undefined) return blobFile(storing);
    const picked = this.#picked.get(record.id);
    if (picked !== undefined && picked.size === record.size) return wholeFrom(picked, () => this.#store.file(record));
    return this.#store.file(record);
  }

  /** From now on the upload's requests read the stored copy only (a run with the picked File failed). */
  forgetPicked(id: string): void {
    this.#picked.delete(id);
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
    if (state === 'done' || state === 'cancelled') this.#picked.delete(id);
    this.#writeRecord(id, state === 'done' ? 'finish' : 'put');
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
    this.#writeRecord(id, 'put');
    return record;
  }

  /** Changes fields in memory only (nothing written): what matters only while this worker runs. */
  note(id: string, patch: Partial<Pick<UploadRecord, 'sent'>>): UploadRecord {
    const record: UploadRecord = { ...this.get(id), ...patch };
    this.#records.set(id, record);
    return record;
  }

  dropFile(id: string): Promise<void> {
    return this.#write(id, (store) => store.dropFile(id));
  }

  remove(id: string): void {
    this.#records.delete(id);
    this.#picked.delete(id);
    void this.#write(id, (store) => store.delete(id));
    this.#notify({ type: 'removed', uploadId: id });
  }

  /** Waits for every write queued so far. */
  async flush(): Promise<void> {
    await Promise.all(this.#lanes.values());
  }

  /**
   * Resolves once the upload's writes queued so far are done: true when the store then holds its
   * record as memory holds it, false when the last write of it failed. At once (true) when its add
   * has yet to begin, as that store writes the record as it then stands. Waits for at most one
   * store in flight: its own or another file's.
   */
  async written(id: string): Promise<boolean> {
    if (this.#queuedAdds.has(id)) return true;
    await this.#lanes.get(id);
    return !this.#unsaved.has(id);
  }

  /** Writes the record again as memory holds it (after a failed write); resolves like `written`. */
  resave(id: string): Promise<boolean> {
    this.#writeRecord(id, 'put');
    return this.written(id);
  }

  /**
   * Removes the upload's record and file from the store, keeping it in memory: for a cancelled
   * upload whose record the store would not take, so that no restart brings it back unfinished
   * (and without its file).
   */
  unstore(id: string): Promise<void> {
    return this.#write(id, async (store) => {
      await store.delete(id);
      this.#unsaved.delete(id);
    });
  }

  emit(type: 'state' | 'progress' | 'complete', record: UploadRecord): void {
    this.#notify({ type, upload: toView(record) });
  }

  /**
   * Writes the record as memory holds it when the write runs (it may have changed since this was
   * queued, e.g. an add has said how the file is kept); nothing once it is forgotten or unstored.
   */
  #writeRecord(id: string, how: 'put' | 'finish'): void {
    void this.#write(id, async (store) => {
      const record = this.#records.get(id);
      if (record === undefined || this.#unstored.has(id)) return;
      try {
        await (how === 'finish' ? store.finish(record) : store.put(record));
        this.#unsaved.delete(id);
      } catch (cause) {
        // Said once per run of failures, with the store's reason; memory stays right meanwhile.
        if (!this.#unsaved.has(id)) {
          const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
          const info = new UploadError('STORAGE', `The upload's state could not be saved (${why})`, { cause }).toInfo();
          this.#notify({ type: 'error', upload: toView(record), error: info });
        }
        this.#unsaved.add(id);
        throw cause;
      }
    });
  }

  /** Queues a store operation behind the upload's earlier ones. A failure is swallowed, never thrown. */
  #write(id: string, operation: (store: RecordStore) => Promise<void>): Promise<void> {
    return this.#queue(
      id,
      (this.#lanes.get(id) ?? Promise.resolve()).then(() => operation(this.#store)).catch(() => {
        // The record stays right in memory; the next write of it may succeed.
      }),
    );
  }

  /** Makes `next` the tail of the upload's lane; the lane is forgotten once its tail settles. */
  #queue(id: string, next: Promise<void>): Promise<void> {
    this.#lanes.set(id, next);
    void next.then(() => {
      if (this.#lanes.get(id) === next) this.#lanes.delete(id);
    });
    return next;
  }
}
