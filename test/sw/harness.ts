// An engine in Node: fake-indexeddb, Node's fetch, the real server behind the fault proxy.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { UploadEvent, UploadView } from '../../src/protocol/index.js';
import { KiB } from '../../sw/chunk-size.js';
import { systemClock } from '../../sw/clock.js';
import { UploadEngine, type EngineDeps } from '../../sw/engine.js';
import { IdbUploadStore } from '../../sw/idb-store.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Fast retries and small fixed chunks, so a few MiB make many chunks. */
export const TEST_CHUNK = 256 * KiB;

export interface Harness {
  server: TestServer;
  readonly proxy: FaultProxy;
  readonly factory: IDBFactory;
  readonly events: UploadEvent[];
  /** POSTs sent by every engine of this harness. */
  posts: number;
  engine(overrides?: Partial<EngineDeps>): UploadEngine;
  close(): Promise<void>;
}

export async function startHarness(server?: TestServer): Promise<Harness> {
  const running = server ?? (await startTestServer({ sweepIntervalMs: 0 }));
  const proxy = await startFaultProxy({ targetPort: running.port });
  const factory = new IDBFactory();
  const engines: UploadEngine[] = [];
  const h: Harness = {
    server: running,
    proxy,
    factory,
    events: [],
    posts: 0,
    engine(overrides = {}) {
      const engine = new UploadEngine({
        store: new IdbUploadStore({ factory }),
        fetch: (input, init) => {
          if (init?.method === 'POST') h.posts++;
          return fetch(input, init);
        },
        clock: systemClock,
        random: () => 0.5,
        notify: (event) => h.events.push(event),
        defaultEndpoint: proxy.url,
        retry: { baseMs: 20, maxMs: 200 },
        chunk: { minBytes: TEST_CHUNK, maxBytes: TEST_CHUNK, initialBytes: TEST_CHUNK, granularity: 64 * KiB },
        timeouts: { baseMs: 5_000 },
        idleGraceMs: 2_000,
        ...overrides,
      });
      engines.push(engine);
      return engine;
    },
    async close() {
      for (const e of engines) for (const u of e.views()) if (u.state === 'uploading') await e.handle({ type: 'pause', uploadId: u.id }).catch(() => undefined);
      await proxy.close();
      await h.server.close();
    },
  };
  return h;
}

/** Deterministic pseudo-random bytes (incompressible enough, different per seed). */
export function makeBytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function sha256(data: Uint8Array | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function addRequest(bytes: Uint8Array<ArrayBuffer>, name: string, lastModified = 1_700_000_000_000) {
  return { type: 'add' as const, file: new File([bytes], name, { type: 'application/octet-stream' }), name, lastModified, options: {} };
}

/** SHA-256 of the completed file with this file id, read through the metadata beside it. */
export async function completedSha(uploadDir: string, fileId: string): Promise<string | undefined> {
  const dir = join(uploadDir, 'complete');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const meta = JSON.parse(await readFile(join(dir, name), 'utf8')) as { id?: string };
    if (meta.id === fileId) return sha256(await readFile(join(dir, name.slice(0, -'.json'.length))));
  }
  return undefined;
}

/** Polls until `check` returns a value (not undefined/false); fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function viewOf(engine: UploadEngine, id: string): UploadView {
  const view = engine.views().find((v) => v.id === id);
  if (view === undefined) throw new Error(`no upload ${id}`);
  return view;
}
