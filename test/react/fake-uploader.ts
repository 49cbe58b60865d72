// An Uploader at the page's port, for the React binding's unit tests: it counts what the binding
// does to it (listeners attached, calls, close) and lets the test push snapshots.
import { TypedEmitter, type Listener, type UploaderEventMap, type UploaderEventName } from '../../src/events.js';
import type { UploadView } from '../../src/protocol/messages.js';
import type { Uploader } from '../../src/uploader.js';

export function view(id: string, patch: Partial<UploadView> = {}): UploadView {
  return { id, fileId: `${id}-file`, endpoint: 'http://127.0.0.1', protocol: 'status-slice', name: `${id}.bin`, type: '', size: 100, state: 'uploading', offset: 0, attempts: 0, createdAt: 1, updatedAt: 1, ...patch };
}

export class FakeUploader implements Uploader {
  readonly #emitter = new TypedEmitter();
  uploads: readonly UploadView[] = [];
  listeners = 0;
  closed = 0;
  readonly calls: string[] = [];

  emit<K extends UploaderEventName>(name: K, event: UploaderEventMap[K]): void {
    if (name === 'snapshot') this.uploads = (event as UploaderEventMap['snapshot']).uploads;
    this.#emitter.emit(name, event);
  }

  on<K extends UploaderEventName>(name: K, listener: Listener<K>): () => void {
    this.listeners += 1;
    const off = this.#emitter.on(name, listener);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.listeners -= 1;
      off();
    };
  }
  off(): void {
    throw new Error('the binding unsubscribes through the function on() returns');
  }
  close(): void {
    this.closed += 1;
  }

  add(file: File): Promise<UploadView>;
  add(files: Iterable<File> | ArrayLike<File>): Promise<UploadView[]>;
  async add(input: File | Iterable<File> | ArrayLike<File>): Promise<UploadView | UploadView[]> {
    const files = input instanceof Blob ? [input] : Array.from(input as ArrayLike<File>);
    this.calls.push(...files.map((f) => `add ${f.name}`));
    const views = files.map((f) => view(f.name, { name: f.name, size: f.size, state: 'queued' }));
    return input instanceof Blob ? views[0]! : views;
  }
  #act(action: string, id: string): Promise<UploadView> {
    this.calls.push(`${action} ${id}`);
    return Promise.resolve(view(id));
  }
  pause(id: string): Promise<UploadView> {
    return this.#act('pause', id);
  }
  resume(id: string): Promise<UploadView> {
    return this.#act('resume', id);
  }
  cancel(id: string): Promise<UploadView> {
    return this.#act('cancel', id);
  }
  retry(id: string): Promise<UploadView> {
    return this.#act('retry', id);
  }
  async setHeaders(id: string): Promise<UploadView[]> {
    this.calls.push(`set-headers ${id}`);
    return [];
  }
  async clearCompleted(): Promise<number> {
    this.calls.push('clear-completed');
    return 0;
  }
  async list(): Promise<UploadView[]> {
    return [...this.uploads];
  }
  async storage(): Promise<{ persisted: boolean }> {
    return { persisted: false };
  }
}
