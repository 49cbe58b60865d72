// The connection behind the React binding, free of React: one uploader shared by every component
// that uses it, connected on first use and closed once the last user is gone, with a snapshot
// that only changes when something changed (what useSyncExternalStore needs).
import { UploadError, toUploadError } from '../protocol/errors.js';
import type { UploadView } from '../protocol/messages.js';
import type { Uploader } from '../uploader.js';

export type ConnectionStatus = 'connecting' | 'ready' | 'failed';

export interface UploaderSnapshot {
  /** `connecting` until the uploader answered, `ready` after, `failed` with `error` (e.g. NOT_INSTALLED). */
  readonly status: ConnectionStatus;
  readonly uploader: Uploader | undefined;
  readonly error: UploadError | undefined;
  /** Every upload, oldest first, as the last event left it. */
  readonly uploads: readonly UploadView[];
}

/** What a server render (and the first client render) sees: nothing connected yet. */
export const SERVER_SNAPSHOT: UploaderSnapshot = Object.freeze({ status: 'connecting', uploader: undefined, error: undefined, uploads: Object.freeze([]) });

export class UploaderStore {
  readonly #create: () => Promise<Uploader>;
  readonly #listeners = new Set<() => void>();
  #snapshot: UploaderSnapshot = SERVER_SNAPSHOT;
  #users = 0;
  /** Bumped by every close: a connection that resolves after its close is closed at once. */
  #generation = 0;
  #connecting: Promise<Uploader> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #stopListening: (() => void) | undefined;

  constructor(create: () => Promise<Uploader>) {
    this.#create = create;
  }

  /**
   * A user (a mounted component) arrived: connects unless connected. Returns its release. The
   * close after the last release waits one task, so React's strict-mode unmount-and-mount
   * keeps the one connection instead of registering twice.
   */
  acquire(): () => void {
    this.#users += 1;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#connecting ??= this.#connect();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#users -= 1;
      if (this.#users === 0) this.#closeTimer = setTimeout(() => this.#close(), 0);
    };
  }

  /** The connected uploader; rejects with the connection's error. */
  ready(): Promise<Uploader> {
    return this.#connecting ?? Promise.reject(new UploadError('INVALID_STATE', 'The uploader is not connected (no component uses it)'));
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getSnapshot = (): UploaderSnapshot => this.#snapshot;

  /** Listeners currently attached (tests: none may leak). */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  #connect(): Promise<Uploader> {
    const generation = this.#generation;
    this.#set({ status: 'connecting', error: undefined });
    const connecting = this.#create().then(
      (uploader) => {
        if (generation !== this.#generation) {
          uploader.close(); // every user left while it connected
          return uploader;
        }
        this.#stopListening = uploader.on('snapshot', ({ uploads }) => this.#set({ uploads }));
        this.#set({ status: 'ready', uploader, uploads: uploader.uploads });
        return uploader;
      },
      (error: unknown) => {
        const failed = toUploadError(error, 'The uploader could not connect');
        if (generation === this.#generation) this.#set({ status: 'failed', error: failed });
        throw failed;
      },
    );
    // A failure is reported through the snapshot; ready() callers see it too.
    connecting.catch(() => undefined);
    return connecting;
  }

  #close(): void {
    this.#closeTimer = undefined;
    this.#generation += 1;
    this.#stopListening?.();
    this.#stopListening = undefined;
    this.#snapshot.uploader?.close();
    this.#connecting = undefined;
    this.#set({ status: 'connecting', uploader: undefined, error: undefined, uploads: [] });
  }

  #set(patch: Partial<UploaderSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const listener of this.#listeners) listener();
  }
}
