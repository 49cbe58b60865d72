// The worker's engine in Node for the benchmarks, wired by the real composition root
// (installUploader) on a minimal scope: Node's fetch, fake-indexeddb, the real clock.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import type { UploadEngine } from '../sw/engine.js';
import { IdbRecordStore } from '../sw/idb-record-store.js';
import { installUploader, type InstallOptions, type UploaderScope } from '../sw/install.js';

export function nodeEngine(endpoint: string, options: Partial<InstallOptions> = {}): UploadEngine {
  const scope = Object.assign(new EventTarget(), {
    location: { origin: endpoint },
    registration: { active: null },
    navigator: { onLine: true },
    clients: { claim: async () => undefined, matchAll: async () => [] },
    crypto: globalThis.crypto,
    skipWaiting: async () => undefined,
    fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
  }) as unknown as UploaderScope;
  return installUploader({ scope, store: new IdbRecordStore({ factory: new IDBFactory() }), endpoint, ...options });
}
