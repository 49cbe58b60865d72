import type { ErrorInfo } from './protocol/errors.js';
import type { UploadView } from './protocol/messages.js';

/** Events an Uploader emits, by name. */
export interface UploaderEventMap {
  /** The full list, on connect and after every change (handy for rendering). */
  snapshot: { uploads: UploadView[] };
  progress: { upload: UploadView };
  state: { upload: UploadView };
  complete: { upload: UploadView };
  error: { upload: UploadView; error: ErrorInfo };
  /**
   * The server refused the upload's credentials (401/403): it waits, file kept, until
   * `setHeaders()` brings new ones (or the user resumes it).
   */
  unauthorized: { upload: UploadView; error: ErrorInfo };
  removed: { uploadId: string };
}

export type UploaderEventName = keyof UploaderEventMap;
export type Listener<K extends UploaderEventName> = (event: UploaderEventMap[K]) => void;

/** A minimal typed emitter: listeners of one event never see another's payload. */
export class TypedEmitter {
  readonly #listeners = new Map<UploaderEventName, Set<(event: never) => void>>();

  on<K extends UploaderEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => this.off(name, listener);
  }

  off<K extends UploaderEventName>(name: K, listener: Listener<K>): void {
    this.#listeners.get(name)?.delete(listener as (event: never) => void);
  }

  emit<K extends UploaderEventName>(name: K, event: UploaderEventMap[K]): void {
    for (const listener of this.#listeners.get(name) ?? []) {
      try {
        (listener as Listener<K>)(event);
      } catch (error) {
        // One faulty listener must not stop the others from hearing about an upload.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
