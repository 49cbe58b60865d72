// An engine wired by the real composition root (installUploader) on a fake scope, with a
// scripted transport, a fake clock and a memory store: the upload loop step by step, no
// sockets, no sleeps.
import { UploadError, type UploadEvent, type UploadView } from '../../../src/protocol/index.js';
import type { UploadEngine } from '../../../sw/engine.js';
import { installUploader, type InstallOptions } from '../../../sw/install.js';
import { MemoryRecordStore } from '../../../sw/memory-record-store.js';
import { FakeClock, settle } from './fake-clock.js';
import { fakeScope } from './fake-scope.js';
import { ScriptedTransport } from './scripted-transport.js';

export interface EngineKit {
  readonly engine: UploadEngine;
  readonly transport: ScriptedTransport;
  readonly clock: FakeClock;
  readonly store: MemoryRecordStore;
  readonly scope: ReturnType<typeof fakeScope>;
  /** Every event broadcast so far. */
  events(): UploadEvent[];
  view(id: string): UploadView;
  add(bytes: number | Uint8Array<ArrayBuffer>, name?: string, headers?: Record<string, string>): Promise<UploadView>;
}

export function engineKit(options: Partial<InstallOptions> = {}, scopeOptions: { sync?: boolean } = {}): EngineKit {
  const clock = new FakeClock();
  const transport = new ScriptedTransport();
  // A test may bring its own (e.g. one whose add it holds); it must be a MemoryRecordStore.
  const store = options.store instanceof MemoryRecordStore ? options.store : new MemoryRecordStore();
  const scope = fakeScope(scopeOptions);
  let ids = 0;
  const engine = installUploader({
    scope: scope.asScope,
    store,
    transport,
    clock,
    random: () => 0.5,
    newId: () => `u${++ids}`,
    digest: false,
    ...options,
  });
  return {
    engine,
    transport,
    clock,
    store,
    scope,
    events: scope.events,
    view(id) {
      const view = engine.views().find((v) => v.id === id);
      if (view === undefined) throw new UploadError('NOT_FOUND', `no upload ${id}`);
      return view;
    },
    async add(bytes, name = 'file.bin', headers = {}) {
      const data = typeof bytes === 'number' ? new Uint8Array(bytes).map((_, i) => i & 255) : bytes;
      const view = await engine.handle({ type: 'add', file: new File([data], name), name, lastModified: 1, options: { headers } });
      await settle();
      return view;
    },
  };
}
