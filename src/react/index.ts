// Public entry `resilient-upload/react`: a provider that connects once, and hooks for the live
// list of uploads with their actions bound. Renders on a server (nothing connects there) and in
// strict mode (one connection, every listener removed on unmount).
import { createContext, createElement, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactElement, type ReactNode } from 'react';
import type { UploadError } from '../protocol/errors.js';
import type { AddOptions, UploadView } from '../protocol/messages.js';
import type { Listener, UploaderEventName } from '../events.js';
import { createUploader, type Uploader, type UploaderOptions } from '../uploader.js';
import { SERVER_SNAPSHOT, UploaderStore, type ConnectionStatus, type UploaderSnapshot } from './uploader-store.js';

export { UploaderStore, type ConnectionStatus, type UploaderSnapshot } from './uploader-store.js';

const StoreContext = createContext<UploaderStore | undefined>(undefined);

export interface UploaderProviderProps {
  /** Options of `createUploader` (by default the app's own worker, `navigator.serviceWorker.ready`). Read once, on mount. */
  readonly options?: UploaderOptions;
  /** Creates the uploader instead of `createUploader(options)`: tests, or an app that creates it elsewhere. */
  readonly create?: () => Promise<Uploader>;
  readonly children?: ReactNode;
}

/** Connects to the uploader's worker in the browser (never on a server) and shares it below. */
export function UploaderProvider({ options, create, children }: UploaderProviderProps): ReactElement {
  // Built once per provider, and side-effect free: connecting happens in the effect.
  const [store] = useState(() => new UploaderStore(create ?? (() => createUploader(options))));
  useEffect(() => store.acquire(), [store]);
  return createElement(StoreContext.Provider, { value: store }, children);
}

function useStore(hook: string): UploaderStore {
  const store = useContext(StoreContext);
  if (store === undefined) throw new Error(`${hook} needs an <UploaderProvider> above it`);
  return store;
}

function useSnapshot(store: UploaderStore): UploaderSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, () => SERVER_SNAPSHOT);
}

export interface UploaderHandle {
  readonly status: ConnectionStatus;
  /** Why the connection failed (`NO_SERVICE_WORKER`, `NOT_INSTALLED`, …). */
  readonly error: UploadError | undefined;
  /** The uploader once connected, for anything the hooks do not cover. */
  readonly uploader: Uploader | undefined;
  /** Waits for the connection, then stores the file(s); resolves when stored, not when uploaded. */
  add(files: File | Iterable<File> | ArrayLike<File>, options?: AddOptions): Promise<UploadView[]>;
  setHeaders(uploadId: string | 'all', headers: Readonly<Record<string, string>>): Promise<UploadView[]>;
  clearCompleted(): Promise<number>;
}

/** The connection and the actions that are not about one upload. */
export function useUploader(): UploaderHandle {
  const store = useStore('useUploader()');
  const { status, error, uploader } = useSnapshot(store);
  return useMemo<UploaderHandle>(
    () => ({
      status,
      error,
      uploader,
      add: async (files, options) => {
        const ready = await store.ready();
        return files instanceof Blob ? [await ready.add(files, options)] : ready.add(files, options);
      },
      setHeaders: async (uploadId, headers) => (await store.ready()).setHeaders(uploadId, headers),
      clearCompleted: async () => (await store.ready()).clearCompleted(),
    }),
    [store, status, error, uploader],
  );
}

/** One upload as `useUploads` lists it: the view, its progress, and its actions. */
export interface UploadItem extends UploadView {
  /** Bytes the server confirmed, 0 to 1. */
  readonly progress: number;
  pause(): Promise<UploadView>;
  resume(): Promise<UploadView>;
  cancel(): Promise<UploadView>;
  retry(): Promise<UploadView>;
}

/** The live list of uploads (every tab's), oldest first; re-renders on each change and progress step. */
export function useUploads(): readonly UploadItem[] {
  const store = useStore('useUploads()');
  const { uploads } = useSnapshot(store);
  return useMemo(
    () =>
      uploads.map((view) => ({
        ...view,
        progress: view.size === 0 ? (view.state === 'done' ? 1 : 0) : view.offset / view.size,
        pause: async () => (await store.ready()).pause(view.id),
        resume: async () => (await store.ready()).resume(view.id),
        cancel: async () => (await store.ready()).cancel(view.id),
        retry: async () => (await store.ready()).retry(view.id),
      })),
    [store, uploads],
  );
}

/** Listens to one uploader event while the component is mounted (e.g. `unauthorized` to refresh a token). */
export function useUploaderEvent<K extends UploaderEventName>(name: K, listener: Listener<K>): void {
  const store = useStore('useUploaderEvent()');
  const { uploader } = useSnapshot(store);
  // The latest listener, without re-subscribing on every render.
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => uploader?.on(name, (event) => latest.current(event)), [uploader, name]);
}
